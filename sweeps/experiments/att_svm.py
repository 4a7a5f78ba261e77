"""Attention as max-margin token selection (Tarzanagh et al. 2023, arXiv 2308.16898 and 2306.13596).

Sections of the table (column ``section``):
- ``local_converge``: an ensemble of runs trained by normalised GD in the W and the (K, Q) parameterisation;
  per recorded step, corr(W(k), W^mm_alpha) (``corr_fro``), corr(W(k), W^mm_{*,alpha}) (``corr_nuc``) and
  the softmax mass on the selected tokens (``selected_prob``), alpha = the tokens selected at the end;
  per run, whether alpha is globally / locally optimal (notes A5 ``local_converge``, A6).
- ``rank``: ranks of the Frobenius and nuclear SVM solutions at alpha = opt vs d (notes A5 ``svm_rank``);
  infeasible instances are rows ``feasible = 0``, never skipped.
- ``overparam``: fraction of runs whose final selection is opt, vs d.
- ``nonlinear``: 1 - corr of W(k) with W^SVMeq, W^dir and the single-token SVM for the ReLU head
  (notes A5 ``multi_token_converge``, with its rejection rules).
- ``joint``: joint (v, p) training on the Max-Margin paper's small examples: corr with v^mm and p^relax.
- ``single_input``: the single-input global / local example from several initial prompts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from attnbench.models.svm_attention import (
    LOSSES,
    NormalisedGD,
    attention_probs,
    attention_run_losses,
    correlation,
    default_linear_init,
    key_query_product,
    prompt_run_losses,
)
from attnbench.sweeps.experiments.base import Claim, Experiment, RunContext, Verdict, require
from attnbench.sweeps.plotting import save
from attnbench.sweeps.training import train_ensemble
from attnbench.tasks.token_selection import (
    PromptInstance,
    TokenSelectionConfig,
    joint_training_instance,
    optimal_tokens,
    sample_ensemble,
    single_input_instance,
    token_scores,
    unique_optimum,
)
from attnbench.theory.att_svm import (
    att_svm,
    att_svm_scipy,
    check_local_optimality,
    head_svm,
    matrix_rank,
    min_norm_nnls,
    prompt_features,
    relaxed_prompt_svm,
    support_tokens,
    svm_equivalent,
)

PARAMETERISATIONS = ("W", "KQ")
OPTIMIZERS = ("normalised", "gd")
SECTIONS = ("local_converge", "rank", "overparam", "nonlinear", "joint", "single_input")


@dataclass
class AttSvmParams:
    """Quick-profile defaults (about a minute on one core); ``paper`` gives the papers' sizes."""

    sections: list[str] = field(default_factory=lambda: list(SECTIONS))
    runs: int = 20
    n: int = 6
    T: int = 8
    d: int = 10
    steps: int = 2000
    lr: float = 0.1
    optimizer: str = "normalised"
    loss: str = "logistic"
    record_every: int = 10
    rank_n: int = 5
    rank_T: int = 5
    rank_ds: list[int] = field(default_factory=lambda: [2, 3, 5, 10])
    rank_instances: int = 20
    overparam_ds: list[int] = field(default_factory=lambda: [2, 4, 8, 16])
    overparam_runs: int = 60
    overparam_steps: int = 500
    nonlinear_n: int = 3
    nonlinear_T: int = 4
    nonlinear_ds: list[int] = field(default_factory=lambda: [4, 10])
    nonlinear_runs: int = 300
    nonlinear_steps: int = 2000
    prompt_steps: int = 1000
    single_input_steps: int = 1000

    def __post_init__(self) -> None:
        for key in (
            "runs",
            "n",
            "T",
            "d",
            "steps",
            "record_every",
            "rank_n",
            "rank_T",
            "rank_instances",
            "overparam_runs",
            "overparam_steps",
            "nonlinear_n",
            "nonlinear_T",
            "nonlinear_runs",
            "nonlinear_steps",
            "prompt_steps",
            "single_input_steps",
        ):
            require(int(getattr(self, key)) >= 1, key, f"must be a positive integer, got {getattr(self, key)}")
        require(self.T >= 2 and self.rank_T >= 2 and self.nonlinear_T >= 2, "T", "every T must be >= 2")
        require(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        require(self.optimizer in OPTIMIZERS, "optimizer", f"must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        require(self.loss in LOSSES, "loss", f"must be one of {sorted(LOSSES)}, got {self.loss!r}")
        require(
            set(self.sections) <= set(SECTIONS) and len(self.sections) > 0,
            "sections",
            f"must be a non-empty subset of {list(SECTIONS)}, got {self.sections}",
        )
        for key in ("rank_ds", "overparam_ds", "nonlinear_ds"):
            ds = list(getattr(self, key))
            require(
                len(ds) >= 2 and all(int(d) >= 1 for d in ds) and ds == sorted(set(ds)),
                key,
                f"must be >= 2 distinct increasing positive dimensions, got {ds}",
            )
        require(self.rank_n in self.rank_ds, "rank_ds", f"must contain d = rank_n = {self.rank_n}")


def _row(
    section: str,
    metric: str,
    value: float,
    step: int,
    seed: int,
    predicted: float = math.nan,
    **extra: object,
) -> dict:
    return {
        "section": section,
        "metric": metric,
        "value": float(value),
        "predicted": float(predicted),
        "step": int(step),
        "seed": int(seed),
        **extra,
    }


@dataclass
class Trajectory:
    """Snapshots of every parameter at ``steps``: name -> tensor (len(steps), R, ...)."""

    steps: list[int]
    params: dict[str, torch.Tensor]


def _train(
    init: dict[str, torch.Tensor],
    run_losses: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    steps: int,
    lr: float,
    record_every: int,
    ctx: RunContext,
    optimizer: str = "normalised",
) -> Trajectory:
    """Train an ensemble (leading run axis) with the shared harness; keep snapshots every ``record_every``."""
    params = {name: t.detach().clone().requires_grad_(True) for name, t in init.items()}
    opt = (
        NormalisedGD(list(params.values()), lr)
        if optimizer == "normalised"
        else torch.optim.SGD(list(params.values()), lr=lr)
    )
    snapshots: dict[int, dict[str, torch.Tensor]] = {0: {k: v.detach().clone() for k, v in params.items()}}

    def record(step: int, _losses: torch.Tensor) -> None:
        if (step + 1) % record_every == 0 or step + 1 == steps:
            snapshots[step + 1] = {k: v.detach().clone() for k, v in params.items()}

    train_ensemble(
        lambda _step: run_losses(params),
        opt,
        steps,
        show_progress=ctx.progress,
        desc="att_svm",
        on_step=record,
    )
    order = sorted(snapshots)
    return Trajectory(order, {k: torch.stack([snapshots[s][k] for s in order]) for k in params})


def _init_params(kind: str, runs: int, d: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Default ``nn.Linear`` init for W, or for K and Q (width m = d, as in the official code)."""
    if kind == "W":
        return {"W": default_linear_init(runs, d, d, d, gen)}
    return {"K": default_linear_init(runs, d, d, d, gen), "Q": default_linear_init(runs, d, d, d, gen)}


def _attention_matrices(kind: str, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """W(k) for every snapshot: (S, R, d, d)."""
    return params["W"] if kind == "W" else key_query_product(params["K"], params["Q"])


def _local_converge(p: AttSvmParams, ctx: RunContext) -> list[dict]:
    """Train W and (K, Q) ensembles (notes A5, local_converge); per run and recorded step, corr(W(k), W^mm_alpha),
    corr(W(k), W^mm_{*,alpha}) and the softmax on the selected tokens, alpha = the tokens selected at the end."""
    data = sample_ensemble(TokenSelectionConfig(p.n, p.T, p.d), "train", p.runs)
    gen = torch.Generator().manual_seed(ctx.seed)
    losses = attention_run_losses(data.X, data.z, data.Y, v=data.v, loss=p.loss)
    opt = optimal_tokens(data.X, data.Y, data.v)
    gamma = token_scores(data.X, data.Y, data.v)
    rows: list[dict] = []
    for kind in PARAMETERISATIONS:
        traj = _train(_init_params(kind, p.runs, p.d, gen), losses, p.steps, p.lr, p.record_every, ctx, p.optimizer)
        Ws = _attention_matrices(kind, traj.params)
        alpha = attention_probs(data.X, Ws[-1], data.z).argmax(-1)
        for r in range(p.runs):
            X, z, a = data.X[r].numpy(), data.z[r].numpy(), alpha[r].numpy()
            seed = ctx.seed * 100_000 + r
            local = check_local_optimality(X, z, a, gamma[r].numpy())
            final = dict(section="local_converge", step=p.steps, seed=seed, param=kind, d=p.d)
            rows.append(_row(metric="svm_feasible", value=local.feasible, **final))
            rows.append(_row(metric="alpha_is_opt", value=bool((alpha[r] == opt[r]).all()), **final))
            if kind == "W":  # local optimality is defined through the Frobenius W^mm_alpha (notes A2)
                rows.append(_row(metric="locally_optimal", value=local.locally_optimal, predicted=1.0, **final))
            if not local.feasible:
                continue
            targets = {
                "corr_fro": att_svm(X, z, a, "fro").require(),
                "corr_nuc": att_svm(X, z, a, "nuc").require(),
            }
            predicted_metric = "corr_fro" if kind == "W" else "corr_nuc"
            selected = attention_probs(
                data.X[r : r + 1].expand(len(traj.steps), -1, -1, -1),
                Ws[:, r],
                data.z[r : r + 1].expand(len(traj.steps), -1, -1),
            )
            selected = selected.gather(-1, alpha[r].expand(len(traj.steps), -1).unsqueeze(-1)).squeeze(-1)
            for metric, target in targets.items():
                corr = correlation(Ws[:, r], torch.from_numpy(target))
                pred = 1.0 if metric == predicted_metric else math.nan
                rows += [
                    _row("local_converge", metric, c, s, seed, pred, param=kind, d=p.d)
                    for s, c in zip(traj.steps, corr.tolist(), strict=True)
                ]
            rows += [
                _row("local_converge", "selected_prob", m, s, seed, 1.0, param=kind, d=p.d)
                for s, m in zip(traj.steps, selected.mean(-1).tolist(), strict=True)
            ]
    return rows


def _rank(p: AttSvmParams, ctx: RunContext) -> list[dict]:
    """Ranks of the Frobenius and nuclear Att-SVM solutions at alpha = opt per d (notes A5, svm_rank); no training."""
    rows: list[dict] = []
    for d in p.rank_ds:
        data = sample_ensemble(TokenSelectionConfig(p.rank_n, p.rank_T, d), "test", p.rank_instances)
        unique = unique_optimum(data.X, data.Y, data.v)
        opt = token_scores(data.X, data.Y, data.v).argmax(-1).numpy()
        for r in range(p.rank_instances):
            X, z = data.X[r].numpy(), data.z[r].numpy()
            base = dict(step=0, seed=r, d=d, n=p.rank_n)
            rows.append(_row("rank", "opt_unique", bool(unique[r]), **base))
            if not unique[r]:  # opt is undefined (tied scores, e.g. d = 1): counted, not solved
                continue
            fro = att_svm_scipy(X, z, opt[r])  # exact active set: ranks and support sets need it
            rows.append(_row("rank", "feasible", fro.feasible, **base))
            if not fro.feasible:
                continue
            W = fro.require()
            active = int(support_tokens(X, z, opt[r], W).any(-1).sum())  # examples with a support token
            rows.append(_row("rank", "active_examples", active, **base))
            rows.append(_row("rank", "rank_fro", matrix_rank(W), predicted=min(active, d), **base))
            rows.append(_row("rank", "rank_nuc", matrix_rank(att_svm(X, z, opt[r], "nuc").require()), **base))
    return rows


def _overparam(p: AttSvmParams, ctx: RunContext) -> list[dict]:
    """Per d and run: whether the tokens W selects after ``overparam_steps`` are the optimal ones (notes A3)."""
    rows: list[dict] = []
    gen = torch.Generator().manual_seed(ctx.seed)
    for d in p.overparam_ds:
        data = sample_ensemble(TokenSelectionConfig(p.n, p.T, d), "val", p.overparam_runs)
        losses = attention_run_losses(data.X, data.z, data.Y, v=data.v, loss=p.loss)
        init = _init_params("W", p.overparam_runs, d, gen)
        traj = _train(init, losses, p.overparam_steps, p.lr, p.overparam_steps, ctx, p.optimizer)
        alpha = attention_probs(data.X, traj.params["W"][-1], data.z).argmax(-1)
        hits = (alpha == optimal_tokens(data.X, data.Y, data.v)).all(-1)
        rows += [_row("overparam", "global", h, p.overparam_steps, r, d=d) for r, h in enumerate(hits.tolist())]
    return rows


def _unit_frobenius(x: torch.Tensor) -> torch.Tensor:
    return x / x.flatten(-2).norm(dim=-1)[..., None, None]


def _nonlinear(p: AttSvmParams, ctx: RunContext) -> list[dict]:
    """ReLU head f = 1^T ReLU(V^T X^T s) with V Gaussian, ||V||_F = 1, fixed.

    The notebook's rejection rules: no label -1, some s in (1e-6, 1e-3], no s <= 1e-6, or an infeasible SVM.
    Rejected runs are rows ``accepted = 0`` (the notebook draws new seeds until it has enough accepted runs).
    """
    rows: list[dict] = []
    gen = torch.Generator().manual_seed(ctx.seed)
    for d in p.nonlinear_ds:
        data = sample_ensemble(TokenSelectionConfig(p.nonlinear_n, p.nonlinear_T, d), "val", p.nonlinear_runs)
        V = _unit_frobenius(torch.randn(p.nonlinear_runs, d, d, generator=gen, dtype=torch.float64))
        losses = attention_run_losses(data.X, data.z, data.Y, V=V)
        traj = _train(_init_params("W", p.nonlinear_runs, d, gen), losses, p.nonlinear_steps, p.lr, 100, ctx)
        Ws = traj.params["W"]
        probs = attention_probs(data.X, Ws[-1], data.z)
        for r in range(p.nonlinear_runs):
            s = probs[r].numpy()
            has_negative = bool((data.Y[r] < 0).any())  # the notebook redraws instances without a -1 label
            accepted = has_negative and not ((s > 1e-6) & (s <= 1e-3)).any() and (s <= 1e-6).any()
            X, z = data.X[r].numpy(), data.z[r].numpy()
            eq = svm_equivalent(X, z, s, Ws[-1, r].numpy()) if accepted else None
            single = att_svm_scipy(X, z, s.argmax(-1)) if accepted else None
            accepted = accepted and hasattr(eq, "W_eq") and single.feasible
            rows.append(_row("nonlinear", "accepted", accepted, p.nonlinear_steps, r, d=d))
            if not accepted:
                continue
            rows.append(_row("nonlinear", "max_masked_prob", s[s < 1e-3].max(), p.nonlinear_steps, r, d=d))
            for metric, target in (
                ("one_minus_corr_eq", eq.W_eq),
                ("one_minus_corr_dir", eq.W_dir),
                ("one_minus_corr_1token", single.require()),
            ):
                gap = 1 - correlation(Ws[:, r], torch.from_numpy(target))
                rows += [
                    _row("nonlinear", metric, g, st, r, d=d) for st, g in zip(traj.steps, gap.tolist(), strict=True)
                ]
    return rows


def _train_prompt(
    inst: PromptInstance, p0: torch.Tensor, joint: bool, steps: int, lr: float, ctx: RunContext
) -> Trajectory:
    """Normalised GD on p (and v when ``joint``, each normalised separately) for the runs p0 (R, d)."""
    R = len(p0)
    keys, X = inst.keys.expand(R, -1, -1, -1), inst.X.expand(R, -1, -1, -1)
    Y = inst.Y.expand(R, -1)
    params = {"p": p0, "v": inst.v.expand(R, -1).clone()} if joint else {"p": p0}
    losses = prompt_run_losses(keys, X, Y, v=None if joint else inst.v.expand(R, -1))
    return _train(params, losses, steps, lr, 10, ctx)


def _vector_corr(a: torch.Tensor, b: np.ndarray) -> torch.Tensor:
    b_t = torch.from_numpy(b)
    return (a @ b_t) / (a.norm(dim=-1) * b_t.norm())


def _joint(p: AttSvmParams, ctx: RunContext) -> list[dict]:
    """Joint (v, p) training on the tight and relaxed examples (notes A4): corr(v, v^mm) and corr(p, p^relax)."""
    rows: list[dict] = []
    for relaxed in (False, True):
        inst = joint_training_instance(relaxed)
        p0 = torch.tensor([[0.0, -1.0]], dtype=torch.float64)
        traj = _train_prompt(inst, p0, True, p.prompt_steps, p.lr, ctx)
        alpha = np.ones(len(inst.X), dtype=int)  # the non-zero token is selected (max-margin prediction)
        v_mm = head_svm(inst.X[:, 1].numpy(), inst.Y.numpy()).require()
        head_margins = inst.Y.numpy() * (inst.X[:, 1].numpy() @ v_mm)
        tight = np.flatnonzero(np.abs(head_margins - 1) < 1e-6)
        p_relax = relaxed_prompt_svm(inst.keys.numpy(), alpha, tight).require()
        name = "relaxed" if relaxed else "tight"
        for metric, series in (
            ("corr_v", _vector_corr(traj.params["v"][:, 0], v_mm)),
            ("corr_p", _vector_corr(traj.params["p"][:, 0], p_relax)),
        ):
            rows += [
                _row("joint", metric, c, s, 0, 1.0, instance=name, support_inputs=len(tight))
                for s, c in zip(traj.steps, series.tolist(), strict=True)
            ]
    return rows


def _single_input(p: AttSvmParams, ctx: RunContext) -> list[dict]:
    """Initial prompts on the y-axis, p(0) = (0, c, 0); which token does normalised GD select?

    Read at ``single_input_steps`` (1000, the notebook's run length; it plots the first 200 iterations).
    """
    starts = torch.tensor([[0.0, c, 0.0] for c in (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)], dtype=torch.float64)
    rows: list[dict] = []
    for third, name in ((0.0, "local"), (0.9, "global")):
        inst = single_input_instance(third)
        final_p = _train_prompt(inst, starts, False, p.single_input_steps, p.lr, ctx).params["p"][-1]
        selected = torch.einsum("td,rd->rt", inst.keys[0], final_p).argmax(-1)
        keys = inst.keys.numpy()
        for r, token in enumerate(selected.tolist()):
            features = prompt_features(keys, np.array([token]))
            target = min_norm_nnls(features, np.ones(len(features)))
            corr = float(_vector_corr(final_p[r : r + 1], target.require())[0]) if target.feasible else math.nan
            base = dict(step=p.single_input_steps, seed=r, instance=name)
            rows.append(_row("single_input", "selected_token", token, **base))
            rows.append(
                _row(
                    "single_input",
                    "selected_is_opt",
                    token == 0,
                    predicted=1.0 if name == "global" else math.nan,
                    **base,
                )
            )
            rows.append(_row("single_input", "corr_p_mm_selected", corr, predicted=1.0, **base))
    return rows


def run(params: AttSvmParams, ctx: RunContext) -> pd.DataFrame:
    """All sections of the family, one tidy table."""
    sections = {
        "local_converge": _local_converge,
        "rank": _rank,
        "overparam": _overparam,
        "nonlinear": _nonlinear,
        "joint": _joint,
        "single_input": _single_input,
    }
    rows: list[dict] = []
    for name in params.sections:
        ctx.log(f"att_svm: {name}")
        rows += sections[name](params, ctx)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------- claims


def _section(table: pd.DataFrame, name: str) -> pd.DataFrame:
    return table[table["section"] == name] if "section" in table else table.iloc[0:0]


SectionCheck = Callable[[pd.DataFrame, str], Verdict]


def _section_check(name: str, predicted: str) -> Callable[[SectionCheck], Callable[[pd.DataFrame], Verdict]]:
    """Turn ``check(rows of section name, predicted)`` into a claim check of the whole table; a table without
    rows of that section gets a "not run" verdict."""

    def wrap(check: SectionCheck) -> Callable[[pd.DataFrame], Verdict]:
        @functools.wraps(check)
        def check_table(table: pd.DataFrame) -> Verdict:
            sec = _section(table, name)
            if sec.empty:
                return Verdict("not run", predicted, "n/a", note=f"the table has no {name} rows")
            return check(sec, predicted)

        return check_table

    return wrap


def _final(sec: pd.DataFrame, metric: str, **where: object) -> pd.DataFrame:
    rows = sec[sec["metric"] == metric]
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows[rows["step"] == rows["step"].max()] if len(rows) else rows


def _mean_sem(values: pd.Series) -> tuple[float, float]:
    n = len(values)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan


def _corr_at(sec: pd.DataFrame, param: str, metric: str, step: int | None = None) -> pd.DataFrame:
    rows = sec[(sec["metric"] == metric) & (sec["param"] == param)]
    step = rows["step"].max() if step is None else step
    return rows[rows["step"] == step]


@_section_check(
    "local_converge", "corr(W(k), W^mm_alpha) -> 1; >= 0.99 after >= 1000 iterations (notebook: ≈0.99 at 1000)"
)
def check_w_corr_fro(sec: pd.DataFrame, predicted: str) -> Verdict:
    """W-trained runs: mean corr(W(k), W^mm_alpha) >= 0.99 at the last step, which must be >= 1000.

    The value at step 1000 (the notebook's plotted span) is reported beside it.
    """
    final = _corr_at(sec, "W", "corr_fro")
    last = int(final["step"].iloc[0])
    if last < 1000:
        return Verdict("not run", predicted, "n/a", note=f"training ran {last} < 1000 iterations")
    mean, sem = _mean_sem(final["value"])
    at_1000, sem_1000 = _mean_sem(_corr_at(sec, "W", "corr_fro", 1000)["value"])
    return Verdict(
        "pass" if mean >= 0.99 else "fail",
        predicted,
        f"{mean:.4f} ± {sem:.4f} (sem, {len(final)} runs) at step {last}; {at_1000:.4f} ± {sem_1000:.4f} at 1000",
        "mean >= 0.99",
        "alpha = tokens selected at the last step, as in the notebook",
    )


@_section_check("local_converge", "KQ^T -> W^mm_*,alpha (nuclear), W -> W^mm_alpha (Frobenius)")
def check_kq_corr_nuc(sec: pd.DataFrame, predicted: str) -> Verdict:
    """(K,Q) runs align with the nuclear SVM, W runs with the Frobenius one (paired, 3 sem)."""
    parts = []
    ok = True
    for param, better, worse in (("KQ", "corr_nuc", "corr_fro"), ("W", "corr_fro", "corr_nuc")):
        good = _corr_at(sec, param, better).set_index("seed")["value"]
        bad = _corr_at(sec, param, worse).set_index("seed")["value"]
        diff = (good - bad).dropna()
        mean, sem = _mean_sem(diff)
        ok = ok and mean > 3 * sem
        parts.append(f"{param}: corr {better} {good.mean():.4f}, {worse} {bad.mean():.4f}")
    return Verdict(
        "pass" if ok else "fail",
        predicted,
        "; ".join(parts),
        "paired difference > 3 sem (false-failure rate < 0.2% under normal seed noise)",
    )


@_section_check("local_converge", "mean_i s_{i alpha_i} -> 1 (>= 0.99 at the last step)")
def check_softmax_concentration(sec: pd.DataFrame, predicted: str) -> Verdict:
    """Softmax mass on the selected tokens -> 1 (||W|| -> infinity along a positive-margin direction)."""
    means = {p: _corr_at(sec, p, "selected_prob")["value"].mean() for p in PARAMETERISATIONS}
    ok = all(m >= 0.99 for m in means.values())
    return Verdict("pass" if ok else "fail", predicted, ", ".join(f"{p}: {m:.6f}" for p, m in means.items()), ">= 0.99")


@_section_check("local_converge", "fraction of runs whose alpha is locally optimal = 1")
def check_selection_locally_optimal(sec: pd.DataFrame, predicted: str) -> Verdict:
    """Every W run's final selection alpha is feasible and locally optimal (support tokens score lower)."""
    local = _final(sec, "locally_optimal", param="W")["value"]
    global_ = _final(sec, "alpha_is_opt", param="W")["value"]
    return Verdict(
        "pass" if local.min() == 1 else "fail",
        predicted,
        f"{local.mean():.3f} of {len(local)} runs (alpha = opt in {global_.mean():.3f})",
        "exact (every run)",
        "support tokens: margin within 1e-6 of 1 under W^mm_alpha",
    )


def _rank_means(sec: pd.DataFrame) -> pd.DataFrame:
    return sec[sec["metric"].isin(["rank_fro", "rank_nuc"])].pivot_table(
        index="d", columns="metric", values="value", aggfunc="mean"
    )


@_section_check("rank", "rank(W^mm) = min(#examples with a support token, d) <= min(n, d) (notebook: ≈ min(n, d))")
def check_rank_fro(sec: pd.DataFrame, predicted: str) -> Verdict:
    """rank(W^mm) = min(a, d) on every instance, a = number of examples with a support token (derived).

    KKT (notes A2): W^mm = sum_i u_i z_i^T with u_i = sum_t lambda_it (x_{i alpha_i} - x_it), and u_i != 0
    exactly for examples with an active constraint; with generic z_i the rank is min(a, d) <= min(n, d).
    The mean rank beside min(n, d) is the notebook's plotted quantity.
    """
    ranks = sec[sec["metric"] == "rank_fro"]
    exact = float((ranks["value"] == ranks["predicted"]).mean())
    n = int(sec["n"].iloc[0])
    means = ranks.groupby("d")["value"].mean()
    measured = ", ".join(f"d={int(d)}: {m:.2f} (min(n,d) = {min(n, int(d))})" for d, m in means.items())
    return Verdict(
        "pass" if exact == 1.0 else "fail",
        predicted,
        f"rank = min(a, d) on {exact:.0%} of {len(ranks)} feasible instances; mean rank {measured}",
        "exact on every instance",
    )


@_section_check("rank", "rank(W^mm_*) < rank(W^mm) at d = n (notebook: 4.4 vs 4.9-5 at n = d = 5)")
def check_rank_nuc_lower(sec: pd.DataFrame, predicted: str) -> Verdict:
    """At d = n the nuclear solution has lower rank than the Frobenius one (paired, 3 sem)."""
    n = int(sec["n"].iloc[0])
    at = sec[sec["d"] == n].pivot_table(index="seed", columns="metric", values="value")
    diff = (at["rank_fro"] - at["rank_nuc"]).dropna()
    mean, sem = _mean_sem(diff)
    return Verdict(
        "pass" if mean > 3 * sem else "fail",
        predicted,
        f"n = d = {n}: Frobenius {at['rank_fro'].mean():.2f}, nuclear {at['rank_nuc'].mean():.2f} "
        f"({len(diff)} feasible instances)",
        "paired difference > 3 sem",
    )


PAPER_NUCLEAR_RANK_2N = 4.9
NUCLEAR_RANK_NOTE = (
    "measured with Clarabel (interior point) and singular values above 1e-6 x the largest: the nuclear "
    "solution keeps 2-3 non-zero singular values; an SCS solve of the same problems leaves 1e-6..5e-5 "
    "residual singular values that an absolute 1e-7 tolerance (the notebook's matrix_rank) counts, giving 5"
)


@_section_check("rank", f"mean rank(W^mm_*) ≈ {PAPER_NUCLEAR_RANK_2N} at d = 2n")
def check_rank_nuc_paper_value(sec: pd.DataFrame, predicted: str) -> Verdict:
    """The notebook's value rank(W^mm_*) ~ 4.9 at n = 5, d = 10 (stored plot of svm_rank.ipynb)."""
    n = int(sec["n"].iloc[0])
    rows = sec[(sec["d"] == 2 * n) & (sec["metric"] == "rank_nuc")]
    if rows.empty:
        return Verdict("not run", predicted, "n/a", note=f"rank_ds has no d = 2n = {2 * n}")
    mean = float(rows["value"].mean())
    return Verdict(
        "pass" if abs(mean - PAPER_NUCLEAR_RANK_2N) <= 0.3 else "fail",
        predicted,
        f"{mean:.2f} at n = {n}, d = {2 * n} ({len(rows)} instances)",
        "± 0.3",
        NUCLEAR_RANK_NOTE,
    )


@_section_check("overparam", "fraction converging to opt rises with d")
def check_overparam(sec: pd.DataFrame, predicted: str) -> Verdict:
    """The fraction of runs selecting opt is larger at the largest d than the smallest (one-sided z test)."""
    frac = sec.groupby("d")["value"].agg(["mean", "count"])
    lo, hi = frac.iloc[0], frac.iloc[-1]
    pooled = (lo["mean"] * lo["count"] + hi["mean"] * hi["count"]) / (lo["count"] + hi["count"])
    se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / lo["count"] + 1 / hi["count"]))
    z = (hi["mean"] - lo["mean"]) / se
    measured = ", ".join(f"d={int(d)}: {r['mean']:.2f}" for d, r in frac.iterrows())
    return Verdict(
        "pass" if z > 2.33 else "fail",
        predicted,
        f"{measured} (z = {z:.1f})",
        "two-proportion z > 2.33 (one-sided 1% level)",
    )


@_section_check("nonlinear", "1 - corr(W, W^SVMeq) falls with d (notebook plot: ≈0.035 at d=4 → 0.0055 at d=10)")
def check_nonlinear_svmeq(sec: pd.DataFrame, predicted: str) -> Verdict:
    """Nonlinear head: final 1 - corr(W, W^SVMeq) is smaller at the largest d than at the smallest."""
    gaps = sec[sec["metric"].str.startswith("one_minus_corr")]
    gaps = gaps[gaps["step"] == gaps["step"].max()].pivot_table(
        index="d", columns="metric", values="value", aggfunc=["mean", "count"]
    )
    accepted = sec[sec["metric"] == "accepted"].groupby("d")["value"].sum()
    if len(gaps) < 2:
        return Verdict(
            "not run",
            predicted,
            f"accepted runs per d: {accepted.to_dict()}",
            note="fewer than two dimensions have accepted runs",
        )
    eq = gaps[("mean", "one_minus_corr_eq")]
    one = gaps[("mean", "one_minus_corr_1token")]
    ok = eq.iloc[-1] < eq.iloc[0] and bool((eq <= one).all())
    measured = ", ".join(
        f"d={int(d)}: eq {eq[d]:.4f} / 1token {one[d]:.4f} ({int(accepted[d])} runs)" for d in eq.index
    )
    return Verdict(
        "pass" if ok else "fail",
        predicted,
        measured,
        "mean at the largest d below the smallest; SVM-eq never worse than the 1-token SVM",
    )


@_section_check("joint", "corr(v, v^mm) -> 1 and corr(p, p^relax) -> 1 on both examples (>= 0.99 at the last step)")
def check_joint(sec: pd.DataFrame, predicted: str) -> Verdict:
    """Joint (v, p) training: v -> v^mm and p -> p^relax (= p^mm when every input is a support vector)."""
    parts, ok = [], True
    for inst in ("tight", "relaxed"):
        cv = _final(sec, "corr_v", instance=inst)["value"].iloc[0]
        cp_ = _final(sec, "corr_p", instance=inst)["value"].iloc[0]
        support = int(_final(sec, "corr_v", instance=inst)["support_inputs"].iloc[0])
        ok = ok and cv >= 0.99 and cp_ >= 0.99
        parts.append(f"{inst} ({support}/3 support inputs): corr_v {cv:.5f}, corr_p {cp_:.5f}")
    return Verdict("pass" if ok else "fail", predicted, "; ".join(parts), ">= 0.99")


@_section_check(
    "single_input", "γ3 = 0.9: all starts → opt; γ3 = 0: some starts → local token; each aligned with its p^mm"
)
def check_single_input(sec: pd.DataFrame, predicted: str) -> Verdict:
    """Global case: every start selects opt. Local case: some starts select the locally optimal token."""
    glob = _final(sec, "selected_is_opt", instance="global")["value"]
    local = _final(sec, "selected_is_opt", instance="local")["value"]
    corr = _final(sec, "corr_p_mm_selected")["value"]
    ok = glob.min() == 1 and local.min() == 0 and corr.min() >= 0.99
    return Verdict(
        "pass" if ok else "fail",
        predicted,
        f"global: {glob.mean():.2f} of starts at opt; local: {1 - local.mean():.2f} at the local token; "
        f"min corr with p^mm(selected) {corr.min():.4f}",
        "exact selection counts; corr >= 0.99",
    )


SOURCE_TF = "Tarzanagh et al. 2023 (TF-as-SVM)"
SOURCE_MM = "Tarzanagh et al. 2023a (Max-Margin Token Selection)"

CLAIMS = (
    Claim(
        "att_svm.w_corr_fro",
        "W-trained attention aligns with the Frobenius Att-SVM at the selected tokens",
        f"{SOURCE_TF}, official local_converge notebook (stored plot); theorem number unverified",
        check_w_corr_fro,
        "corr_vs_iteration.png",
    ),
    Claim(
        "att_svm.kq_corr_nuc",
        "(K,Q)-trained attention aligns with the nuclear-norm Att-SVM*, W with Frobenius",
        f"{SOURCE_TF}, abstract (regularisation path); the GD version is empirical",
        check_kq_corr_nuc,
        "corr_vs_iteration.png",
    ),
    Claim(
        "att_svm.softmax_concentration",
        "softmax concentrates on the selected tokens",
        "derived",
        check_softmax_concentration,
        "corr_vs_iteration.png",
    ),
    Claim(
        "att_svm.local_optimality",
        "the tokens GD selects satisfy the local-optimality conditions",
        "derived from the definition (notes A2); the paper's theorem is unverified",
        check_selection_locally_optimal,
        known_failure=(
            "paper size (100 runs, 2000 steps): 99/100; run 73 holds a token whose support neighbour "
            "scores 0.008 higher (softmax ≈ 1) until it escapes between steps 2000 and 3000; the "
            "statement is asymptotic and the escape is slow when the score gap is small"
        ),
    ),
    Claim(
        "att_svm.rank_fro",
        "rank(W^mm) = min(n, d), exactly min(#examples with a support token, d)",
        "derived (KKT); ≈ min(n, d): official svm_rank notebook (stored plot)",
        check_rank_fro,
        "rank_vs_d.png",
    ),
    Claim(
        "att_svm.rank_nuc_lower",
        "the nuclear-norm solution has lower rank than W^mm near d = n",
        f"{SOURCE_TF}, official svm_rank notebook (stored plot)",
        check_rank_nuc_lower,
        "rank_vs_d.png",
    ),
    Claim(
        "att_svm.rank_nuc_paper_value",
        "rank(W^mm_*) ≈ 4.9 at n = 5, d = 10",
        f"{SOURCE_TF}, official svm_rank notebook (stored plot)",
        check_rank_nuc_paper_value,
        "rank_vs_d.png",
        known_failure="measured about 2.3, not 4.9: " + NUCLEAR_RANK_NOTE,
    ),
    Claim(
        "att_svm.overparam",
        "the fraction of runs converging to the globally optimal tokens rises with d",
        "recalled from the paper's over-parameterisation figure (unverified; not in the official code)",
        check_overparam,
        "overparam.png",
    ),
    Claim(
        "att_svm.nonlinear_svmeq",
        "nonlinear head: W(k) approaches the generalised SVM-eq, better as d grows",
        f"{SOURCE_TF}, official multi_token_converge notebook (stored plot); SVM-eq naming unverified",
        check_nonlinear_svmeq,
        "nonlinear.png",
    ),
    Claim(
        "att_svm.joint_training",
        "joint (v, p) training converges to v^mm and the relaxed p^mm",
        f"{SOURCE_MM}, joint training (paper figure + official joint_training notebook)",
        check_joint,
        "joint.png",
    ),
    Claim(
        "att_svm.single_input",
        "single input: global token from every start, or a locally optimal one",
        f"{SOURCE_MM}, official single_input_converge notebook; local optimality derived (notes A2)",
        check_single_input,
    ),
)


# ---------------------------------------------------------------------------------------------- figures


def _band(ax: plt.Axes, rows: pd.DataFrame, label: str, transform: str = "identity") -> None:
    stats = rows.groupby("step")["value"].agg(["mean", "std"])
    ax.plot(stats.index, stats["mean"], label=label)
    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.25)


def _draw_local(sec: pd.DataFrame, out: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, param in zip(axes[:2], PARAMETERISATIONS, strict=True):
        for metric, label in (
            ("corr_fro", "corr with W^mm_α (Frobenius)"),
            ("corr_nuc", "corr with W^mm_⋆,α (nuclear)"),
        ):
            _band(ax, sec[(sec["param"] == param) & (sec["metric"] == metric)], label)
        ax.axhline(1.0, color="k", lw=0.8, ls="--", label="theory: → 1 for its own SVM")
        ax.set(title=f"{param} parameterisation (mean ± std over runs)", xlabel="iteration", ylabel="correlation")
        ax.legend(fontsize=8)
    for param in PARAMETERISATIONS:
        _band(axes[2], sec[(sec["param"] == param) & (sec["metric"] == "selected_prob")], param)
    axes[2].axhline(1.0, color="k", lw=0.8, ls="--", label="theory: → 1")
    axes[2].set(title="softmax on selected tokens", xlabel="iteration", ylabel="mean_i s_iα_i")
    axes[2].legend(fontsize=8)
    return save(fig, out, "corr_vs_iteration.png")


def _draw_rank(sec: pd.DataFrame, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    means = _rank_means(sec)
    n = int(sec["n"].iloc[0])
    ax.plot(means.index, means["rank_fro"], "o-", label="rank W^mm (Frobenius)")
    ax.plot(means.index, means["rank_nuc"], "s-", label="rank W^mm_⋆ (nuclear)")
    ax.plot(means.index, np.minimum(means.index, n), "k--", label="theory: min(n, d)")
    feasible = sec[sec["metric"] == "feasible"].groupby("d")["value"].mean()
    for d, f in feasible.items():
        ax.annotate(f"{f:.0%} feasible", (d, 0.02), xycoords=("data", "axes fraction"), fontsize=7, ha="center")
    ax.set(xlabel="d", ylabel="mean rank", title=f"SVM solution rank at α = opt (n = {n})")
    ax.legend(fontsize=8)
    return save(fig, out, "rank_vs_d.png")


def _draw_overparam(sec: pd.DataFrame, out: Path) -> Path:
    frac = sec.groupby("d")["value"].agg(["mean", "count"])
    err = np.sqrt(frac["mean"] * (1 - frac["mean"]) / frac["count"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(frac.index, frac["mean"], yerr=err, fmt="o-", capsize=3, label="measured (± binomial se)")
    ax.set(
        xlabel="d",
        ylabel="fraction of runs selecting opt",
        ylim=(0, 1.05),
        title="over-parameterisation (prediction: rises with d)",
    )
    ax.legend(fontsize=8)
    return save(fig, out, "overparam.png")


PAPER_NONLINEAR = {4: 0.035, 6: 0.017, 8: 0.011, 10: 0.0055}  # notes A5, read from the notebook's plot


def _draw_nonlinear(sec: pd.DataFrame, out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    gaps = sec[sec["metric"].str.startswith("one_minus_corr")]
    for (d, metric), rows in gaps.groupby(["d", "metric"]):
        if metric == "one_minus_corr_eq":
            curve = rows.groupby("step")["value"].mean()
            axes[0].semilogy(curve.index, curve.values, label=f"d={int(d)}")
    axes[0].set(xlabel="iteration", ylabel="mean 1 - corr(W, W^SVMeq)", title="nonlinear head")
    axes[0].legend(fontsize=8)
    final = gaps[gaps["step"] == gaps["step"].max()].groupby(["metric", "d"])["value"].mean()
    for metric in final.index.get_level_values(0).unique():
        axes[1].semilogy(final[metric].index, final[metric].values, "o-", label=metric.removeprefix("one_minus_corr_"))
    axes[1].semilogy(list(PAPER_NONLINEAR), list(PAPER_NONLINEAR.values()), "k*--", label="notebook plot (eq)")
    axes[1].set(xlabel="d", ylabel="final mean 1 - corr", title="final gap vs d")
    axes[1].legend(fontsize=8)
    return save(fig, out, "nonlinear.png")


def _draw_joint(sec: pd.DataFrame, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for (inst, metric), rows in sec.groupby(["instance", "metric"]):
        ax.semilogy(rows["step"], 1 - rows["value"] + 1e-16, label=f"{inst}: 1 - {metric}")
    ax.set(xlabel="iteration", ylabel="1 - corr (theory: → 0)", title="joint (v, p) training")
    ax.legend(fontsize=8)
    return save(fig, out, "joint.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The family's figures, from the table alone."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawers = {
        "local_converge": _draw_local,
        "rank": _draw_rank,
        "overparam": _draw_overparam,
        "nonlinear": _draw_nonlinear,
        "joint": _draw_joint,
    }
    paths = []
    for name, drawer in drawers.items():
        sec = _section(table, name)
        if not sec.empty and (name != "nonlinear" or sec["metric"].str.startswith("one_minus").any()):
            paths.append(drawer(sec, out_dir))
    return paths


EXPERIMENT = Experiment(
    name="att_svm",
    description="Attention as max-margin token selection: GD on one attention layer vs Att-SVM solutions",
    params=AttSvmParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    paper={
        "runs": 100,
        "rank_ds": [1, 2, 3, 4, 5, 10, 15, 20],
        "rank_instances": 100,
        "overparam_ds": [2, 4, 6, 8, 10, 15, 20, 30],
        "overparam_runs": 100,
        "overparam_steps": 1000,
        "nonlinear_ds": [4, 6, 8, 10],
        "nonlinear_runs": 1500,
    },
)
