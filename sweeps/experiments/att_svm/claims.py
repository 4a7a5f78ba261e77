"""Every claim of the att_svm family, by study (notes ``svm_scansnap.md`` A2-A5)."""

from __future__ import annotations

from attnbench.sweeps.experiments.att_svm.local_claims import LOCAL_CLAIMS
from attnbench.sweeps.experiments.att_svm.rank_claims import RANK_CLAIMS
from attnbench.sweeps.experiments.att_svm.training_claims import TRAINING_CLAIMS

CLAIMS = (*LOCAL_CLAIMS, *RANK_CLAIMS, *TRAINING_CLAIMS)
