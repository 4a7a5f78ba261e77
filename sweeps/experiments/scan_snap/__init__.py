"""Scan and Snap (Tian, Wang, Chen, Du 2023): SGD on the Y/Z transformer vs the paper's ODEs and closed forms.

The run (`compute.run`) executes every study; each row carries its ``section`` (see `compute`), and each claim
reads only its own section's rows.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.scan_snap.compute import run
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
    tiny=Profile(overrides=dict(
        seeds=3, seq_lens=[16, 64], steps=100, fig4_seeds=3, scan_horizon=1000.0, gain_ratios=[1.0, 100.0],
        reduced_ratios=[1.0, 10.0], snap_lr_ys=[1.0, 2.0], snap_lr_zs=[0.5, 1.0],
        decoder_lr_ys=[0.5, 2.0], decoder_steps=1000, entropy_lr_zs=[0.5, 3.0], entropy_ratios=[1.0],
        entropy_seeds=6,
    )),
    paper=Profile(overrides=dict(
        seeds=10, fig4_seeds=10, seq_lens=[16, 64, 256, 1024], entropy_num_lasts=[1, 3, 5, 10],
        entropy_lr_zs=[0.5, 1.0, 2.0, 3.0], entropy_ratios=[1.0, 2.0, 5.0, 10.0], entropy_seeds=10,
    )),
)
