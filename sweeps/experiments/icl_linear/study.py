"""In-context linear regression, the computing part (He et al. 2025; Zhang, Frei & Bartlett 2023).

One run trains, as batched ensembles over seeds, a multi-head softmax layer for each head count and a
linear self-attention layer, all at one training context length, then measures their risk at several
test lengths beside the closed forms of `attnbench.theory.icl_linear`, and reads the learned circuits
(ω_h, μ_h) against the solution manifold S_γ (He et al. 2025, §3.2); the softmax models' (μ_h, ω_h) paths,
the reduced model's GD and SGD against the flow of L̃ and the stall predictions are `study_dynamics`'.
This module never imports the claims or the figures, so editing them leaves the stored runs fresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from attnbench.models.icl_attention import LinearSelfAttentionICL, MultiHeadSoftmaxICL
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.icl_linear.study_dynamics import path_rows, reduced_training_rows, stall_rows
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.training import make_optimizer, train_ensemble
from attnbench.sweeps.validation import Params, param
from attnbench.tasks import icl_linear as task
from attnbench.tasks.base import stack
from attnbench.theory import icl_linear as theory


@dataclass
class IclLinearParams(Params):
    """The quick profile's sizes; He et al. train d = 5, L = 40, σ² = 0.1, Adam 1e-3, batch 256 (notes A1)."""

    dim: int = param(5, ge=1, help="covariate dimension d")
    train_length: int = param(40, ge=1, help="training context length L")
    noise_var: float = param(0.1, ge=0, help="label noise variance σ²")
    heads: list[int] = param([1, 2], ge=1, help="head counts H of the softmax models")
    seeds: int = param(7, ge=1, help="ensemble members (seeds) per model")
    steps: int = param(4000, ge=0, help="Adam steps of each softmax model")
    lr: float = param(1e-3, gt=0, help="Adam learning rate of the softmax models")
    batch_size: int = param(256, ge=1, help="fresh prompts per training step")
    lsa_steps: int = param(2000, ge=0, help="Adam steps of the linear self-attention model")
    lsa_lr: float = param(1e-2, gt=0, help="Adam learning rate of the linear self-attention model")
    test_lengths: list[int] = param([10, 20, 40, 80, 160, 320], ge=1, help="test context lengths L'")
    test_prompts: int = param(16384, ge=1, help="shared test prompts per test length")
    log_every: int = param(100, ge=1, help="steps between logged training losses and softmax (μ_h, ω_h)")
    dynamics_batches: list[int] = param([16, 64, 256], ge=1, help="SGD batch sizes of the reduced model")
    dynamics_population: int = param(4096, ge=1, help="fixed prompts of the reduced model's full-batch GD")
    dynamics_lr: float = param(0.05, gt=0, help="step η of the reduced model's SGD and GD")
    dynamics_horizon: float = param(20.0, gt=0, help="flow time η·steps the reduced model is trained for")
    dynamics_log_every: int = param(10, ge=1, help="steps between logged reduced-model (μ_h, ω_h)")


EVAL_CHUNK = 2048


def _configs(params: IclLinearParams, members: int, length: int, batch: int) -> list[task.IclLinearConfig]:
    return [
        task.IclLinearConfig(
            dim=params.dim, context_length=length, noise_var=params.noise_var, batch_size=batch, stream=member
        )
        for member in range(members)
    ]


def _ensemble_batch(
    configs: list[task.IclLinearConfig], split: task.Split, index: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    batch = stack(configs, split, index)
    return batch.inputs.to(device), batch.targets.to(device)


def _test_set(params: IclLinearParams, length: int) -> list[task.Batch]:
    """The shared test prompts at one length (stream 0, split ``test``): every model sees the same ones."""
    config = task.IclLinearConfig(
        dim=params.dim,
        context_length=length,
        noise_var=params.noise_var,
        batch_size=min(EVAL_CHUNK, params.test_prompts),
    )
    chunks = -(-params.test_prompts // config.batch_size)
    return [config.sample("test", i) for i in range(chunks)]


def _train(
    models: list[tuple[torch.nn.Module, dict[str, object]]],
    params: IclLinearParams,
    steps: int,
    lr: float,
    ctx: RunContext,
    label: str,
) -> list[Row]:
    """Train ensembles on the same fresh batches (Adam, one optimiser: it acts element-wise, so each model
    follows its own trajectory); return their train-loss rows, tagged with each model's ``extra`` keys, and
    for a softmax model its (μ_h, ω_h) path (`path_rows`) at step 0 and every ``log_every``."""
    configs = _configs(params, params.seeds, params.train_length, params.batch_size)
    optimizer = make_optimizer([p for model, _ in models for p in model.parameters()], "adam", lr)
    rows: list[Row] = []

    def losses(step: int) -> torch.Tensor:
        inputs, targets = _ensemble_batch(configs, "train", step, ctx.device)
        return torch.cat([((model(inputs) - targets) ** 2).mean(dim=-1) for model, _ in models])

    def log_paths(step: int) -> None:
        for model, _ in models:
            if isinstance(model, MultiHeadSoftmaxICL):
                omega, mu = model.reduced()
                rows.extend(path_rows(mu, omega, step, model.heads))

    def log(step: int, member_losses: torch.Tensor) -> None:
        if (step + 1) % params.log_every == 0 or step + 1 == steps:
            for (_, extra), chunk in zip(models, member_losses.split(params.seeds), strict=True):
                rows.extend(
                    row("train_loss", v, step=step + 1, seed=seed, **extra) for seed, v in enumerate(chunk.tolist())
                )
            log_paths(step + 1)

    log_paths(0)
    train_ensemble(losses, optimizer, steps, show_progress=ctx.progress, desc=label, on_step=log)
    return rows


@torch.no_grad()
def _risk(model: torch.nn.Module, test_set: list[task.Batch], members: int, device: torch.device) -> np.ndarray:
    """Per-member mean squared error on the shared test prompts."""
    total = torch.zeros(members, dtype=torch.float64)
    count = 0
    for batch in test_set:
        inputs = batch.inputs.to(device).expand(members, *batch.inputs.shape)
        total += ((model(inputs) - batch.targets.to(device)) ** 2).sum(-1).double().cpu()
        count += batch.targets.numel()
    return (total / count).numpy()


def _circuit_rows(model: MultiHeadSoftmaxICL, params: IclLinearParams, heads: int) -> list[Row]:
    """He et al.'s emergent structure, read per seed from the learned circuits."""
    d, length, noise = params.dim, params.train_length, params.noise_var
    kq, ov = model.circuits()
    omegas, mus = (v.double().cpu().numpy() for v in model.reduced())
    rows: list[Row] = []
    for seed in range(kq.shape[0]):
        block = kq[seed, :, :d, :d].double()
        omega, mu = omegas[seed], mus[seed]
        off_diagonal = block - torch.diag_embed(torch.diagonal(block, dim1=-2, dim2=-1))
        common = {"model": "softmax", "heads": heads}
        for h in range(heads):
            rows += [row("omega", omega[h], seed=seed, head=h, **common), row("mu", mu[h], seed=seed, head=h, **common)]
        gamma_hat = float(np.abs(omega).mean())
        summary = {
            "sign_match": (float(np.mean(np.sign(omega) == np.sign(mu))), 1.0),
            "effective_step": (float(mu @ omega), theory.eta_star(d, length, noise)),
            "kq_offdiagonal": (float(off_diagonal.norm() / block.norm()), 0.0),
            "ov_x_part": (float((ov[seed, :, :d].norm(dim=-1) / ov[seed, :, d].abs()).mean()), 0.0),
        }
        if heads >= 2:
            summary["zero_sum"] = (float(abs(mu.sum()) / np.abs(mu).sum()), 0.0)
            summary["omega_spread"] = (float(np.max(np.abs(np.abs(omega) / gamma_hat - 1))), 0.0)
            summary["mu_plus"] = (float(mu[mu > 0].sum()), theory.mu_gamma(gamma_hat, d, length, noise))
        rows += [row(k, v, predicted=p, seed=seed, **common) for k, (v, p) in summary.items()]
    return rows


def _oracle_rows(params: IclLinearParams, length: int, test_set: list[task.Batch]) -> list[Row]:
    """Monte-Carlo risks of the oracles on the test prompts beside their closed forms (fp64)."""
    d, noise = params.dim, params.noise_var
    eta_star, eta_gd = theory.eta_star(d, length, noise), theory.eta_gd(d, length, noise)
    config = task.IclLinearConfig(dim=d, context_length=length, noise_var=noise)
    oracles = {
        "dgd": (lambda b: task.debiased_gd_predict(b.inputs, eta_star), theory.dgd_risk(eta_star, d, length, noise)),
        "gd": (lambda b: task.gd_predict(b.inputs, eta_gd), theory.gd_risk(eta_gd, d, length, noise)),
        "ols": (lambda b: task.ols_predict(b.inputs), theory.ols_risk(d, length, noise)),
        "bayes": (config.oracle, theory.bayes_risk(d, length, noise)[0]),
    }
    doubled = [task.Batch(b.inputs.double(), b.targets.double(), b.loss_mask) for b in test_set]
    rows: list[Row] = []
    for name, (predict, predicted) in oracles.items():
        errors = torch.cat([(predict(b) - b.targets) ** 2 for b in doubled])
        rows.append(
            row(
                "risk",
                errors.mean(),
                predicted=predicted,
                model=name,
                test_length=length,
                std_error=float(errors.std() / errors.numel() ** 0.5),
            )
        )
    return rows


def _bayes_ratio_rows(noise_var: float) -> list[Row]:
    """He et al. 2025, Thm 1(3) on a ξ grid where its conditions hold: the bound minus the limit ratio."""
    rows: list[Row] = []
    for xi in np.geomspace(1e-2, 1e2, 41):
        if noise_var <= 0 or noise_var + 1 / xi <= 1:
            continue
        ratio = theory.dgd_risk_limit(xi, noise_var) / theory.bayes_risk_limit(xi, noise_var)
        rows.append(row("bayes_ratio", ratio, predicted=theory.bayes_ratio_bound(xi, noise_var), xi=xi))
    return rows


def _dynamics_rows(model: MultiHeadSoftmaxICL, params: IclLinearParams, heads: int, ctx: RunContext) -> list[Row]:
    """From the untrained model's (μ, ω): the stall prediction and the reduced model's GD and SGD against the
    flow of L̃ (`study_dynamics`)."""
    omega, mu = (v.double().cpu().numpy() for v in model.reduced())
    d, length, noise = params.dim, params.train_length, params.noise_var
    config = task.IclLinearConfig(dim=d, context_length=length, noise_var=noise)
    rows = stall_rows(mu, omega, d, length, noise)
    rows += reduced_training_rows(
        mu,
        omega,
        config,
        params.dynamics_batches,
        params.dynamics_population,
        params.dynamics_lr,
        params.dynamics_horizon,
        params.dynamics_log_every,
        ctx,
    )
    return [{**r, "heads": heads} for r in rows]


def run(params: IclLinearParams, ctx: RunContext) -> pd.DataFrame:
    """Train every softmax head count and the linear attention at ``params.train_length``; measure risks at
    every test length, the learned circuits, the LSA preconditioner, the oracles and the Thm 1(3) ratio."""
    d, length, noise = params.dim, params.train_length, params.noise_var
    # The initialisations differ between training lengths, so each (L, seed) of the grid is its own seed.
    generator = torch.Generator().manual_seed(int(np.random.SeedSequence([ctx.seed, length]).generate_state(1)[0]))
    test_sets = {n: _test_set(params, n) for n in sorted(set(params.test_lengths) | {length})}
    rows: list[Row] = []
    softmax = {heads: MultiHeadSoftmaxICL(params.seeds, heads, d, generator).to(ctx.device) for heads in params.heads}
    for heads, model in softmax.items():
        if heads >= 2:
            rows += _dynamics_rows(model, params, heads, ctx)
    rows += _train(
        [(model, {"model": "softmax", "heads": heads}) for heads, model in softmax.items()],
        params,
        params.steps,
        params.lr,
        ctx,
        f"softmax H={params.heads}",
    )
    eta = theory.eta_star(d, length, noise)
    for heads, model in softmax.items():
        rows += _circuit_rows(model, params, heads)
        for n, test_set in test_sets.items():
            rows += [
                row(
                    "risk",
                    v,
                    predicted=theory.dgd_risk(eta, d, n, noise),
                    seed=s,
                    model="softmax",
                    heads=heads,
                    test_length=n,
                )
                for s, v in enumerate(_risk(model, test_set, params.seeds, ctx.device))
            ]
    lsa = LinearSelfAttentionICL(params.seeds, d, length, generator).to(ctx.device)
    rows += _train(
        [(lsa, {"model": "linear_attention"})], params, params.lsa_steps, params.lsa_lr, ctx, "linear attention"
    )
    optimum = theory.lsa_optimum(np.eye(d), length, noise, 1.0 / d)
    gap = lsa.preconditioner().double() - torch.from_numpy(optimum)
    errors = torch.linalg.matrix_norm(gap) / np.linalg.norm(optimum)
    rows += [
        row("preconditioner_error", e, predicted=0.0, seed=s, model="linear_attention") for s, e in enumerate(errors)
    ]
    for n, test_set in test_sets.items():
        predicted = theory.linear_attention_length_risk(n, length, d, noise)
        rows += [
            row("risk", v, predicted=predicted, seed=s, model="linear_attention", test_length=n)
            for s, v in enumerate(_risk(lsa, test_set, params.seeds, ctx.device))
        ]
    rows += _oracle_rows(params, length, test_sets[length])
    rows += _bayes_ratio_rows(noise)
    table = pd.DataFrame(rows)
    table["train_length"] = length
    return table
