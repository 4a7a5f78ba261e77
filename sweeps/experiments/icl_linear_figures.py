"""Figures of the ``icl_linear`` experiment, drawn from its table alone, theory beside measurement."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.icl_linear_claims import two_signed
from attnbench.sweeps.plotting import band, save
from attnbench.theory import icl_linear as theory


def _two_head_points(ax: plt.Axes, rows: pd.DataFrame, table: pd.DataFrame, x: str, **style: object) -> None:
    """2-head softmax risks: the seeds with ± heads as a band, the one-signed (stalled) seeds as grey crosses."""
    rows = rows.merge(two_signed(table))
    band(ax, rows[rows["two_signed"]], x, "softmax H=2 (± heads)", color="C1", **style)
    stalled = rows[~rows["two_signed"]]
    if len(stalled):
        ax.plot(stalled[x], stalled["value"], "x", color="grey", label="softmax H=2 (one-signed seeds)")


def _risk_vs_context(table: pd.DataFrame, out_dir: Path) -> Path:
    """Risk at the training length against the training length, beside Bayes, OLS, GD and dGD."""
    d, noise = int(table["p.dim"].iloc[0]), float(table["p.noise_var"].iloc[0])
    own = table[(table["metric"] == "risk") & (table["test_length"] == table["train_length"])]
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = np.arange(d + 3, int(own["train_length"].max() * 1.5) + 1)
    ax.plot(grid, [theory.dgd_risk(theory.eta_star(d, n, noise), d, n, noise) for n in grid], "k-",
            label="dGD(η*) theory")
    ax.plot(grid, [theory.gd_risk(theory.eta_gd(d, n, noise), d, n, noise) for n in grid], "k:", label="GD theory")
    ax.plot(grid, [theory.ols_risk(d, n, noise) for n in grid], "k--", label="OLS theory")
    lengths = sorted(own["train_length"].unique())
    ax.plot(lengths, [theory.bayes_risk(d, int(n), noise)[0] for n in lengths], "ks", mfc="none",
            label="Bayes (MC)")
    softmax = own[own["model"] == "softmax"]
    band(ax, softmax[softmax["heads"] == 1], "train_length", "softmax H=1 (trained)")
    _two_head_points(ax, softmax[softmax["heads"] == 2], table, "train_length")
    band(ax, own[own["model"] == "linear_attention"], "train_length", "linear attention (trained)", color="C2")
    ax.set(xlabel="context length L (train = test)", ylabel="risk E(ŷ − y)²", yscale="log",
           title=f"In-context linear regression, d={d}, σ²={noise}")
    ax.legend(fontsize=7)
    return save(fig, out_dir, "risk_vs_context.png")


def _length_generalisation(table: pd.DataFrame, out_dir: Path) -> Path:
    rows = table[(table["metric"] == "risk") & (table["train_length"] == 40)
                 & table["model"].isin(["softmax", "linear_attention"])]
    fig, ax = plt.subplots(figsize=(6, 4))
    d, noise = int(table["p.dim"].iloc[0]), float(table["p.noise_var"].iloc[0])
    grid = np.geomspace(rows["test_length"].min(), rows["test_length"].max(), 60)
    eta = theory.eta_star(d, 40, noise)
    ax.plot(grid, [theory.dgd_risk(eta, d, n, noise) for n in grid], "C1-", label="R_dGD(η*; L') theory")
    ax.plot(grid, [theory.linear_attention_length_risk(n, 40, d, noise) for n in grid], "C0-",
            label="R_lin(L') theory")
    _two_head_points(ax, rows[(rows["model"] == "softmax") & (rows["heads"] == 2)], table, "test_length",
                     linestyle="none")
    band(ax, rows[rows["model"] == "linear_attention"], "test_length", "linear attention", color="C0",
         linestyle="none")
    ax.axvline(40, color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="test context length L'", ylabel="risk",
           title="Trained at L = 40, tested at L'")
    ax.legend(fontsize=7)
    return save(fig, out_dir, "length_generalisation.png")


def _circuits(table: pd.DataFrame, out_dir: Path) -> Path:
    rows = table[(table["model"] == "softmax") & (table["train_length"] == 40)]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    heads = rows[rows["metric"].isin(["omega", "mu"])]
    for (h_count, seed), group in heads.groupby(["heads", "seed"]):
        omega = group[group["metric"] == "omega"].sort_values("head")["value"].to_numpy()
        mu = group[group["metric"] == "mu"].sort_values("head")["value"].to_numpy()
        axes[0].scatter(omega, mu, marker="o" if h_count == 2 else "x", color=f"C{int(h_count)}",
                        label=f"H={int(h_count)}" if seed == 0 else None)
    d, noise = int(table["p.dim"].iloc[0]), float(table["p.noise_var"].iloc[0])
    gammas = np.linspace(0.02, 0.5, 100)
    mus = [theory.mu_gamma(g, d, 40, noise) for g in gammas]
    axes[0].plot(gammas, mus, "k-", lw=0.8, label="S_γ: (γ, μ_γ)")
    axes[0].plot(-gammas, -np.array(mus), "k-", lw=0.8)
    axes[0].set(xlabel="ω_h (effective KQ)", ylabel="μ_h (OV)", title="Learned heads vs solution manifold")
    axes[0].legend(fontsize=7)
    steps = rows[(rows["metric"] == "effective_step") & (rows["heads"] == 2)].merge(two_signed(table))
    for converged, group in steps.groupby("two_signed"):
        axes[1].plot(group["seed"], group["value"], "o" if converged else "x", color="C2" if converged else "grey",
                     label="± heads" if converged else "one-signed")
    axes[1].axhline(float(steps["predicted"].iloc[0]), color="k", ls="--", label="η* (theory)")
    axes[1].set(ylim=(0, 1.1), xlabel="seed", ylabel="Σ_h μ_h ω_h", title="Effective step (H=2)")
    axes[1].legend(fontsize=7)
    return save(fig, out_dir, "circuits.png")


def _bayes_ratio(table: pd.DataFrame, out_dir: Path) -> Path:
    rows = table[table["metric"] == "bayes_ratio"].drop_duplicates("xi").sort_values("xi")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(rows["xi"], rows["value"], "C0-", label="R_dGD(η*) / Bayes (limit)")
    ax.plot(rows["xi"], rows["predicted"], "k--", label="Thm 1(3) bound")
    ax.set(xscale="log", xlabel="ξ = d / L", ylabel="ratio", title=f"σ² = {table['p.noise_var'].iloc[0]}")
    ax.legend(fontsize=7)
    return save(fig, out_dir, "bayes_ratio.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    paths = [_risk_vs_context(table, out_dir), _bayes_ratio(table, out_dir)]
    if (table["train_length"] == 40).any():
        paths += [_length_generalisation(table, out_dir), _circuits(table, out_dir)]
    return paths
