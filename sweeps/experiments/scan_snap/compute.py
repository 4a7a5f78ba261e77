"""The run of the Scan and Snap experiment (Tian, Wang, Chen, Du 2023): the studies of ``params.sections``, one table.

The sections (`SECTIONS`; column ``section``), each run on its own nested params (``params.<section>``):
- ``decoder``: h(t) (Lambert W) vs the discrete recursion h*(s) (Lemmas 5–7; `study_decoder`).
- ``ode_match``: SGD attention (T→∞ map of the trained Z) vs the population ODE, for several T; ``fig4``: the
  Fig. 4 run's loss vs the authors' log (`study_sgd`).
- ``scan``: long-horizon population ODE: common-token mass and distinct-token logits / attention (`study_scan`).
- ``gain``: relative-gain identity (Eqn 110 ⇔ Eqn 11) in the reduced and the joint ODE vs η_Y/η_Z and the Eqn 12
  bounds along the reduced ODE; ``reduced``: reduced vs joint ODE (`study_gain`).
- ``snap``: peak times of ‖g_n‖ (≈ γ(t), Theorem 1) and of ‖ż‖ vs η_Y; B_n(t_0) (Eqn 129) and the ODE's
  dominant-token gain at t_0 vs η_Z at fixed η_Y/η_Z (`study_snap`).
- ``entropy``: Syn-Medium (Fig. 6) entropy of c_n on distinct tokens after SGD with momentum (`study_entropy`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import RunContext, Section, run_sections
from attnbench.sweeps.experiments.scan_snap.params import ScanSnapParams
from attnbench.sweeps.experiments.scan_snap.study_decoder import run_decoder
from attnbench.sweeps.experiments.scan_snap.study_entropy import run_entropy
from attnbench.sweeps.experiments.scan_snap.study_gain import run_gain, run_reduced
from attnbench.sweeps.experiments.scan_snap.study_scan import run_scan
from attnbench.sweeps.experiments.scan_snap.study_sgd import run_fig4_loss, run_ode_match
from attnbench.sweeps.experiments.scan_snap.study_snap import run_snap

SECTIONS = (
    Section("decoder", run_decoder, "h*(s) vs the Lambert-W h(t) and the 2η_Y/M bound (Lemmas 5–7)"),
    Section("ode_match", run_ode_match, "SGD attention vs the population ODE, per momentum and T (Lemmas 1–2)"),
    Section("fig4", run_fig4_loss, "SGD loss of the Fig. 4 run vs the authors' log"),
    Section("scan", run_scan, "long-horizon population ODE: common mass, distinct logits and shares (Thm 3)"),
    Section("gain", run_gain, "relative-gain identity (Eqn 110 ⇔ Eqn 11) and the Eqn 12 bounds vs η_Y/η_Z"),
    Section("reduced", run_reduced, "reduced Z-only ODE vs joint (Y, Z) ODE vs η_Y/η_Z (Lemma 4)"),
    Section("snap", run_snap, "peak times of ‖g_n‖ and ‖ż‖ vs η_Y; B_n(t_0) vs η_Z (Thms 1, 4; Eqn 129)"),
    Section("entropy", run_entropy, "Syn-Medium distinct-token entropy after SGD (Fig. 6)"),
)


def run(params: ScanSnapParams, ctx: RunContext) -> pd.DataFrame:
    """The studies of ``params.sections``; one row per run x step x metric, tagged with its ``section``."""
    table = run_sections(SECTIONS, params, ctx)
    for column in ("predicted", "step", "seed"):
        if column not in table:
            table[column] = np.nan
    return table
