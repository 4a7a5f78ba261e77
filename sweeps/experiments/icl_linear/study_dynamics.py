"""In-context linear regression, the training dynamics against He et al.'s reduced flow (notes A2.3, A3).

For every 2-head softmax seed the run reads (μ_h, ω_h) off the model at step 0 (`MultiHeadSoftmaxICL.reduced`)
and, before training,
- predicts from them whether the seed stalls: whether the gradient flow of L̃ from that point ends in the
  one-signed valley (`attnbench.theory.icl_dynamics.flows_one_signed`), stored as ``flows_one_signed``;
- trains He et al.'s reduced model (`ReducedSoftmaxICL`, the full model on the ansatz KQ = ω I, OV = μ e)
  from that point by plain SGD on fresh prompts, step η and several batch sizes, and logs its (μ_h, ω_h)
  beside the flow at time t = η·step (``reduced_mu``, ``reduced_omega``; ``max_flow_gap`` per seed and
  batch). The full model is trained by Adam, whose steps have no time map onto a gradient flow, and under
  plain GD its factored circuits (KQ = KᵀQ, OV = oᵀV) move each reduced coordinate at its own factor-norm
  rate, so the flow is compared with the model it describes.
The Adam path of the full model is logged by `path_rows` (``omega_path``, ``mu_path``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from attnbench.models.icl_attention import ReducedSoftmaxICL
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.training import make_optimizer, train_ensemble
from attnbench.tasks import icl_linear as task
from attnbench.tasks.base import member_configs, stack
from attnbench.theory import icl_dynamics as theory


def path_rows(mu: torch.Tensor, omega: torch.Tensor, step: int, heads: int) -> list[Row]:
    """One logged point of the full model's path: (μ_h, ω_h) per seed and head, (E, H) each."""
    rows: list[Row] = []
    for seed in range(mu.shape[0]):
        for head in range(heads):
            common = {"step": step, "seed": seed, "head": head, "model": "softmax", "heads": heads}
            rows += [row("mu_path", mu[seed, head], **common), row("omega_path", omega[seed, head], **common)]
    return rows


def stall_rows(mu0: np.ndarray, omega0: np.ndarray, dim: int, length: int, noise_var: float) -> list[Row]:
    """The prediction, per seed, that the reduced flow from its initialisation ends one-signed."""
    return [
        row(
            "flows_one_signed",
            float(theory.flows_one_signed(mu0[s], omega0[s], dim, length, noise_var)),
            seed=s,
            model="softmax",
            heads=mu0.shape[1],
        )
        for s in range(mu0.shape[0])
    ]


def reduced_training_rows(
    mu0: np.ndarray,
    omega0: np.ndarray,
    config: task.IclLinearConfig,
    batches: list[int],
    population: int,
    lr: float,
    horizon: float,
    log_every: int,
    ctx: RunContext,
) -> list[Row]:
    """The reduced model from every seed's (μ(0), ω(0)), trained ``horizon / lr`` steps of step ``lr``: by
    full-batch GD on one fixed sample of ``population`` prompts (split ``val``, shared by the seeds) and by SGD
    on fresh batches of each size in ``batches`` (seed s on data stream s); each an ensemble over seeds.

    Rows every ``log_every`` steps: ``reduced_mu`` / ``reduced_omega`` (``method`` ``gd`` or ``sgd``, ``batch``
    the batch size, ``population`` for GD) with the flow of L̃ at t = lr·step as ``predicted``; per seed, ``max_gd_gap``
    (largest |SGD − GD| over logged steps, heads, μ and ω; per batch) and ``max_flow_gap`` (the same for
    GD against the flow)."""
    seeds, heads = mu0.shape
    steps = int(round(horizon / lr))
    logged = sorted({*range(0, steps + 1, log_every), steps})
    groups = [*(("sgd", b) for b in batches), ("gd", population)]  # (method, batch size): GD's is the sample
    models = {g: ReducedSoftmaxICL(torch.from_numpy(mu0).float(), torch.from_numpy(omega0).float()) for g in groups}
    streams = {b: member_configs(replace(config, batch_size=b), range(seeds)) for b in batches}
    sample = replace(config, batch_size=population).sample("val", 0)
    fixed = (sample.inputs.to(ctx.device), sample.targets.to(ctx.device))
    parameters = [p for model in models.values() for p in model.to(ctx.device).parameters()]
    path = {0: {g: _reduced(model) for g, model in models.items()}}

    def losses(step: int) -> torch.Tensor:
        per_group = []
        for (method, b), model in models.items():
            if method == "gd":
                inputs, targets = fixed
            else:
                data = stack(streams[b], "train", step)
                inputs, targets = data.inputs.to(ctx.device), data.targets.to(ctx.device)
            per_group.append(((model(inputs) - targets) ** 2).mean(-1))
        return torch.cat(per_group)

    def log(step: int, _: torch.Tensor) -> None:
        if step + 1 in logged:
            path[step + 1] = {g: _reduced(model) for g, model in models.items()}

    optimizer = make_optimizer(parameters, "sgd", lr)
    train_ensemble(losses, optimizer, steps, show_progress=ctx.progress, desc="reduced model", on_step=log)
    times = lr * np.asarray(logged, float)
    flows = [
        np.stack(theory.reduced_flow(mu0[s], omega0[s], times, config.dim, config.context_length, config.noise_var))
        for s in range(seeds)
    ]
    # (μ, ω) of every group and seed along the logged steps: shaped (2, T, H)
    trained = {
        (g, s): np.stack([np.stack(path[step][g])[:, s] for step in logged], axis=1)
        for g in groups
        for s in range(seeds)
    }
    rows: list[Row] = []
    for (method, b), seed in trained:
        ours = trained[(method, b), seed]
        for i, step in enumerate(logged):
            for h in range(heads):
                common = {"step": step, "seed": seed, "head": h, "batch": b, "method": method, "model": "reduced"}
                rows += [
                    row("reduced_mu", ours[0, i, h], predicted=flows[seed][0, i, h], **common),
                    row("reduced_omega", ours[1, i, h], predicted=flows[seed][1, i, h], **common),
                ]
        if method == "gd":
            gap = row("max_flow_gap", np.abs(ours - flows[seed]).max(), seed=seed, method=method, model="reduced")
        else:
            versus = trained[("gd", population), seed]
            gap = row("max_gd_gap", np.abs(ours - versus).max(), seed=seed, batch=b, method=method, model="reduced")
        rows.append(gap)
    return rows


def _reduced(model: ReducedSoftmaxICL) -> tuple[np.ndarray, np.ndarray]:
    return model.mu.detach().cpu().double().numpy().copy(), model.omega.detach().cpu().double().numpy().copy()
