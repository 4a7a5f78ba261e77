"""Scan and Snap (Tian, Wang, Chen, Du 2023): SGD on the Y/Z transformer vs the paper's ODEs and closed forms.

Each study is a section (`compute.SECTIONS`) with its own nested params (``params.<study>.<key>``, `params`); the
run (`compute.run`) executes those of ``params.sections``, each row carries its ``section``, and each claim reads
only its own section's rows.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.scan_snap.compute import SECTIONS, run
from attnbench.sweeps.experiments.scan_snap.entropy_claims import ENTROPY_CLAIMS
from attnbench.sweeps.experiments.scan_snap.figures import draw
from attnbench.sweeps.experiments.scan_snap.ode_claims import ODE_CLAIMS
from attnbench.sweeps.experiments.scan_snap.params import ScanSnapParams
from attnbench.sweeps.experiments.scan_snap.sgd_claims import SGD_CLAIMS
from attnbench.sweeps.experiments.scan_snap.snap_claims import SNAP_CLAIMS

CLAIMS = ODE_CLAIMS + SGD_CLAIMS + SNAP_CLAIMS + ENTROPY_CLAIMS

EXPERIMENT = Experiment(
    name="scan_snap",
    description=__doc__.splitlines()[0],
    params=ScanSnapParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    sections=SECTIONS,
    tiny=Profile(
        overrides=dict(
            ode_match=dict(seeds=3, seq_lens=[16, 64], steps=100),
            fig4=dict(seeds=3),
            scan=dict(horizon=1000.0),
            gain=dict(ratios=[1.0, 100.0]),
            reduced=dict(ratios=[1.0, 10.0]),
            snap=dict(lr_ys=[1.0, 2.0], lr_zs=[0.5, 1.0]),
            decoder=dict(lr_ys=[0.5, 2.0], steps=1000),
            entropy=dict(lr_zs=[0.5, 3.0], ratios=[1.0], seeds=6),
        )
    ),
    paper=Profile(
        overrides=dict(
            ode_match=dict(seeds=10, seq_lens=[16, 64, 256, 1024]),
            fig4=dict(seeds=10),
            entropy=dict(num_lasts=[1, 3, 5, 10], lr_zs=[0.5, 1.0, 2.0, 3.0], ratios=[1.0, 2.0, 5.0, 10.0], seeds=10),
        )
    ),
)
