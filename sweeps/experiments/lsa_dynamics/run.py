"""Linear self-attention trained by gradient descent against its population gradient flow (Zhang, Frei & Bartlett
2023; notes B1), the computing part.

Every seed's LSA layer (`LinearSelfAttentionICL`, full parameterisation, ZFB's initialisation) gives its own
initial (u₀, A₀). From there the run integrates the population gradient flow (`theory.lsa_dynamics.flow`), runs
full-batch GD on the population loss of (u, A) (exact gradients: Euler steps of the flow) at several step sizes η,
and trains the full model (every entry of W^{PV} and W^{KQ}) by mini-batch SGD on fresh prompts (``stream`` = seed)
at several step sizes and batch sizes. Time is t = η · step for all of them, so every trajectory is compared with
the flow at the same t. The training loss is ½ mean (ŷ − y)², the loss whose flow the theory integrates.

The full model has directions the reduced flow does not (the last row of W^{KQ}, the first d entries of the last row
of W^{PV}): their population gradient is zero on ZFB's subspace, but their curvature grows like u², so a large step
can be unstable there even when the (u, A) dynamics are not. The two SGD step sizes show this. This module never
imports the claims or the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from attnbench.models.icl_attention import LinearSelfAttentionICL
from attnbench.sweeps.experiments.base import RunContext, require
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.validation import Params, param
from attnbench.tasks.base import member_configs, stack
from attnbench.tasks.icl_linear import IclLinearConfig
from attnbench.theory import lsa_dynamics as theory
from attnbench.theory.icl_linear import context_moment, lsa_optimum


@dataclass
class LSADynamicsParams(Params):
    """ZFB's setting (notes B1): x ~ N(0, Λ), w ~ N(0, τ² I), no label noise; Λ is the notes' MC check's."""

    dim: int = param(5, ge=1, help="covariate dimension d")
    context_length: int = param(20, ge=1, help="context length N (the model's fixed 1/N)")
    covariance: list[float] = param([1.0, 2.0, 0.5, 1.5, 0.3], gt=0, help="the diagonal of Λ (length d)")
    weight_var: float = param(1.0, gt=0, help="task prior variance τ² (w ~ N(0, τ² I))")
    noise_var: float = param(0.0, ge=0, help="label noise variance σ²")
    init_scale: float = param(0.1, gt=0, help="ZFB's initial scale σ: u₀ = σ, A₀ = σ ΘΘᵀ/‖ΘΘᵀ‖_F")
    seeds: int = param(5, ge=2, help="seeds: initialisations (and SGD data streams)")
    horizon: float = param(30.0, gt=0, help="flow time T = η · steps of every trajectory")
    gd_step_sizes: list[float] = param(
        [0.04, 0.02, 0.01, 0.005], gt=0, help="step sizes η of full-batch GD (each half the previous)"
    )
    sgd_step_sizes: list[float] = param([0.02, 0.005], gt=0, help="step sizes η of mini-batch SGD (in gd_step_sizes)")
    sgd_batches: list[int] = param([128, 512, 2048], ge=1, help="SGD batch sizes (fresh prompts per step)")
    records: int = param(30, ge=2, help="recorded time points after t = 0 (each trajectory)")

    def check(self) -> None:
        require(len(self.covariance) == self.dim, "params.covariance", f"needs {self.dim} entries (dim)")
        halvings = np.diff(np.log2(self.gd_step_sizes))
        require(
            len(self.gd_step_sizes) >= 2 and bool(np.allclose(halvings, -1.0)),
            "params.gd_step_sizes",
            f"must be at least two step sizes, each half the previous, got {self.gd_step_sizes}",
        )
        require(
            set(self.sgd_step_sizes) <= set(self.gd_step_sizes),
            "params.sgd_step_sizes",
            f"must be among gd_step_sizes {self.gd_step_sizes} (SGD's drift is compared with GD's at its η)",
        )
        require(self.sgd_batches == sorted(set(self.sgd_batches)), "params.sgd_batches", "must be increasing")
        for eta in self.gd_step_sizes:
            steps = self.horizon / eta
            require(
                abs(steps - round(steps)) < 1e-9 and round(steps) % self.records == 0,
                "params.horizon",
                f"horizon / η must be a whole multiple of records ({self.records}) for η = {eta}",
            )


def _trajectory_rows(
    u: np.ndarray,
    a: np.ndarray,
    flow_b: np.ndarray,
    optimum: np.ndarray,
    times: np.ndarray,
    predicted: dict[str, float],
    **cell: object,
) -> list[Row]:
    """Per recorded time: ‖B − B*‖/‖B*‖, ‖B − B_flow‖/‖B*‖, u, ‖A‖_F and u² − ‖A‖²_F of one trajectory; then its
    summary: the largest gap to the flow, the final error, the final and the largest balance drift. ``predicted``
    gives a summary metric's reference value (for SGD: the flow's final error, full-batch GD's final drift)."""
    b = u[:, None, None] * a.transpose(0, 2, 1)
    scale = np.linalg.norm(optimum)
    measures = {
        "b_error": np.linalg.norm(b - optimum, axis=(1, 2)) / scale,
        "flow_gap": np.linalg.norm(b - flow_b, axis=(1, 2)) / scale,
        "u": u,
        "a_norm": np.linalg.norm(a, axis=(1, 2)),
        "balance": theory.balance(u, a),
    }
    trajectory = [
        row(metric, values[i], time=float(times[i]), **cell)
        for metric, values in measures.items()
        for i in range(len(times))
    ]
    drift = measures["balance"] - measures["balance"][0]
    summary = {
        "max_flow_gap": measures["flow_gap"].max(),
        "final_b_error": measures["b_error"][-1],
        "balance_drift": drift[-1],
        "max_balance_drift": np.abs(drift).max(),
    }
    return trajectory + [
        row(metric, value, predicted=predicted.get(metric), **cell) for metric, value in summary.items()
    ]


def _population_gd(
    u0: float, a0: np.ndarray, eta: float, params: LSADynamicsParams, cov: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch GD on the population loss from (u₀, A₀): (u, A) at the recorded steps."""
    curvature = context_moment(cov, params.context_length, params.noise_var, params.weight_var)
    steps = round(params.horizon / eta)
    every = steps // params.records
    u, a = u0, a0.copy()
    us, as_ = [u], [a.copy()]
    for step in range(1, steps + 1):
        grad_u, grad_a = theory.population_gradient(u, a, cov, curvature, params.weight_var)
        u, a = u - eta * grad_u, a - eta * grad_a
        if step % every == 0:
            us.append(u)
            as_.append(a.copy())
    return np.array(us), np.array(as_)


def _sgd(
    model: LinearSelfAttentionICL, configs: list[IclLinearConfig], eta: float, params: LSADynamicsParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mini-batch SGD of the full LSA members at step ``eta``: (u, A, norm of every other entry) at the recorded
    steps, each shaped (records + 1, members, ...)."""
    d = params.dim
    steps = round(params.horizon / eta)
    every = steps // params.records
    optimiser = torch.optim.SGD(model.parameters(), lr=eta)
    inside = torch.zeros(d + 1, d + 1, dtype=torch.bool)
    inside[:d, :d] = True

    def snapshot() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pv, kq = model.projection_value.detach().clone(), model.key_query.detach().clone()
        readout = pv[:, d, :d]  # the last row of W^{PV} but u; its other rows never reach ŷ
        outside = torch.cat([kq[:, ~inside], readout, pv[:, :d].flatten(1)], dim=1)
        return pv[:, d, d].numpy(), kq[:, :d, :d].numpy(), outside.norm(dim=1).numpy()

    shots = [snapshot()]
    for step in range(1, steps + 1):
        batch = stack(configs, "train", step - 1)
        loss = 0.5 * ((model(batch.inputs.double()) - batch.targets.double()) ** 2).mean(dim=1).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % every == 0:
            shots.append(snapshot())
    u, a, outside = (np.stack(values) for values in zip(*shots, strict=True))
    return u, a, outside


def run(params: LSADynamicsParams, ctx: RunContext) -> pd.DataFrame:
    """Flow, full-batch GD and mini-batch SGD trajectories of every seed (module docstring)."""
    cov = np.diag(params.covariance)
    optimum = lsa_optimum(cov, params.context_length, params.noise_var, params.weight_var)
    seeds = list(range(ctx.seed, ctx.seed + params.seeds))
    times = np.linspace(0.0, params.horizon, params.records + 1)

    def initial_model() -> LinearSelfAttentionICL:
        generator = torch.Generator().manual_seed(ctx.seed)
        return LinearSelfAttentionICL(
            params.seeds,
            params.dim,
            params.context_length,
            generator,
            init_scale=params.init_scale,
            dtype=torch.float64,
        )

    start = initial_model()
    u0, a0 = start.projection_value[:, -1, -1].detach().numpy(), start.key_query[:, :-1, :-1].detach().numpy()
    rows: list[Row] = []
    flows, flow_errors, gd_drifts = [], [], {}
    for member, seed in enumerate(seeds):
        u, a = theory.flow(
            u0[member], a0[member], times, cov, params.context_length, params.noise_var, params.weight_var
        )
        flows.append(u[:, None, None] * a.transpose(0, 2, 1))
        flow_errors.append(float(np.linalg.norm(flows[-1][-1] - optimum) / np.linalg.norm(optimum)))
        rows += _trajectory_rows(u, a, flows[-1], optimum, times, {}, seed=seed, method="flow")
        for eta in params.gd_step_sizes:
            u, a = _population_gd(u0[member], a0[member], eta, params, cov)
            rows += _trajectory_rows(u, a, flows[-1], optimum, times, {}, seed=seed, method="gd", step_size=eta)
            gd_drifts[seed, eta] = float(theory.balance(u[-1], a[-1]) - theory.balance(u[0], a[0]))
        ctx.log(f"lsa_dynamics: flow and GD of seed {seed} done")
    base = IclLinearConfig(
        dim=params.dim,
        context_length=params.context_length,
        noise_var=params.noise_var,
        weight_var=params.weight_var,
        covariance=tuple(tuple(r) for r in cov.tolist()),
    )
    for eta in params.sgd_step_sizes:
        for batch in params.sgd_batches:
            u, a, outside = _sgd(initial_model(), member_configs(replace(base, batch_size=batch), seeds), eta, params)
            for member, seed in enumerate(seeds):
                cell = {"seed": seed, "method": "sgd", "step_size": eta, "batch": batch}
                references = {"balance_drift": gd_drifts[seed, eta], "final_b_error": flow_errors[member]}
                rows += _trajectory_rows(u[:, member], a[:, member], flows[member], optimum, times, references, **cell)
                rows += [
                    row("off_subspace_norm", outside[i, member], time=float(times[i]), **cell)
                    for i in range(len(times))
                ]
            ctx.log(f"lsa_dynamics: SGD at η = {eta:g}, batch {batch} done")
    return pd.DataFrame(rows)
