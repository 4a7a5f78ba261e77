"""Every claim in the ledger has a pytest carrying its id (ARCHITECTURE.md, "The claims ledger")."""

from __future__ import annotations

import pytest
from conftest import CLAIM_IDS, WHOLE_SUITE

from attnbench.sweeps import registry


def test_every_claim_has_a_test_with_its_id(request):
    if not request.config.stash.get(WHOLE_SUITE, False):
        pytest.skip("only meaningful when the whole test suite is collected")
    tested = request.config.stash[CLAIM_IDS]
    claims = {c.id for name, e in registry.experiments().items() if name != "toy" for c in e.claims}
    assert sorted(claims - tested) == []
