"""Figures of the ``icl_linear`` experiment, drawn from its table alone, theory beside measurement, for
every training length of the table."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.icl_linear.checks import two_signed
from attnbench.sweeps.experiments.icl_linear.dynamics_figures import adam_paths, reduced_dynamics
from attnbench.sweeps.plotting import band, figure_legend, legend_outside, panels, save
from attnbench.theory import icl_linear as theory


def _setting(table: pd.DataFrame) -> tuple[int, float, list[int]]:
    return (
        int(table["p.dim"].iloc[0]),
        float(table["p.noise_var"].iloc[0]),
        sorted(int(n) for n in table["train_length"].dropna().unique()),
    )


def _two_head_points(ax: plt.Axes, rows: pd.DataFrame, table: pd.DataFrame, x: str, **style: object) -> None:
    """2-head softmax risks: the seeds with ± heads as a band, the one-signed seeds as grey crosses."""
    rows = rows.merge(two_signed(table))
    band(ax, rows[rows["two_signed"]], x, r"softmax $H=2$ ($\pm$ heads)", color="C1", **style)
    stalled = rows[~rows["two_signed"]]
    if len(stalled):
        ax.plot(stalled[x], stalled["value"], "x", color="grey", label=r"softmax $H=2$ (one-signed seeds)")


def _risk_vs_context(table: pd.DataFrame, out_dir: Path) -> Path:
    """Risk at the training length against the training length, beside Bayes, OLS, GD and dGD."""
    d, noise, lengths = _setting(table)
    own = table[(table["metric"] == "risk") & (table["test_length"] == table["train_length"])]
    fig, axes = panels(1, 1)
    fig.set_size_inches(6.0, 4.2)
    ax = axes[0, 0]
    grid = np.arange(d + 3, int(max(lengths) * 1.5) + 1)
    ax.plot(
        grid,
        [theory.dgd_risk(theory.eta_star(d, n, noise), d, n, noise) for n in grid],
        "k-",
        label=r"dGD($\eta^*$) theory",
    )
    ax.plot(grid, [theory.gd_risk(theory.eta_gd(d, n, noise), d, n, noise) for n in grid], "k:", label="GD theory")
    ax.plot(grid, [theory.ols_risk(d, n, noise) for n in grid], "k--", label="OLS theory")
    ax.plot(lengths, [theory.bayes_risk(d, n, noise)[0] for n in lengths], "ks", mfc="none", label="Bayes (MC)")
    softmax = own[own["model"] == "softmax"]
    band(ax, softmax[softmax["heads"] == 1], "train_length", r"softmax $H=1$ (trained)")
    _two_head_points(ax, softmax[softmax["heads"] == 2], table, "train_length")
    band(ax, own[own["model"] == "linear_attention"], "train_length", "linear attention (trained)", color="C2")
    ax.set(
        xlabel=r"context length $L$ (train = test)",
        ylabel=r"risk $\mathbb{E}(\hat y - y)^2$",
        yscale="log",
        title=rf"in-context linear regression, $d={d}$, $\sigma^2={noise:g}$",
    )
    figure_legend(fig, axes, ncols=3)
    return save(fig, out_dir, "risk_vs_context.png")


def _length_generalisation(table: pd.DataFrame, out_dir: Path) -> Path:
    """One panel per training length L: risk at test length L' beside R_dGD(η*(L); L') and R_lin(L')."""
    d, noise, lengths = _setting(table)
    fig, axes = panels(1, len(lengths))
    for ax, length in zip(axes[0], lengths, strict=True):
        rows = table[
            (table["metric"] == "risk")
            & (table["train_length"] == length)
            & table["model"].isin(["softmax", "linear_attention"])
        ]
        grid = np.geomspace(rows["test_length"].min(), rows["test_length"].max(), 60)
        eta = theory.eta_star(d, length, noise)
        ax.plot(
            grid,
            [theory.dgd_risk(eta, d, n, noise) for n in grid],
            "C1-",
            label=r"$R_{\mathrm{dGD}}(\eta^*; L')$ theory",
        )
        ax.plot(
            grid,
            [theory.linear_attention_length_risk(n, length, d, noise) for n in grid],
            "C0-",
            label=r"$R_{\mathrm{lin}}(L')$ theory",
        )
        _two_head_points(
            ax, rows[(rows["model"] == "softmax") & (rows["heads"] == 2)], table, "test_length", linestyle="none"
        )
        band(
            ax,
            rows[rows["model"] == "linear_attention"],
            "test_length",
            "linear attention",
            color="C0",
            linestyle="none",
        )
        ax.axvline(length, color="grey", lw=0.8, label="training length")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=r"test context length $L'$",
            ylabel=r"risk $\mathbb{E}(\hat y - y)^2$",
            title=rf"trained at $L = {length}$",
        )
    figure_legend(fig, axes, ncols=3)
    return save(fig, out_dir, "length_generalisation.png")


def _circuits(table: pd.DataFrame, out_dir: Path) -> Path:
    """Learned heads (ω_h, μ_h) beside S_γ per training length; the effective step beside η*."""
    d, noise, lengths = _setting(table)
    rows = table[table["model"] == "softmax"]
    fig, axes = panels(1, 2)
    fig.set_size_inches(8.0, 3.4)
    axes = axes[0]
    gammas = np.linspace(0.1, 0.7, 100)
    for index, length in enumerate(lengths):
        heads = rows[rows["metric"].isin(["omega", "mu"]) & (rows["train_length"] == length)]
        for (h_count, seed), group in heads.groupby(["heads", "seed"]):
            omega = group[group["metric"] == "omega"].sort_values("head")["value"].to_numpy()
            mu = group[group["metric"] == "mu"].sort_values("head")["value"].to_numpy()
            axes[0].scatter(
                omega,
                mu,
                marker="o" if h_count == 2 else "x",
                color=f"C{index}",
                label=rf"$L={length}$, $H={int(h_count)}$" if seed == 0 else None,
            )
        mus = np.array([theory.mu_gamma(g, d, length, noise) for g in gammas])
        axes[0].plot(gammas, mus, "-", color=f"C{index}", lw=0.8)
        axes[0].plot(-gammas, -mus, "-", color=f"C{index}", lw=0.8)
    axes[0].plot([], [], "-", color="grey", lw=0.8, label=r"$S_\gamma$: $(\pm\gamma, \pm\mu_\gamma)$ (theory)")
    axes[0].set(xlabel=r"$\omega_h$ (effective KQ)", ylabel=r"$\mu_h$ (OV)", title=r"learned heads beside $S_\gamma$")
    legend_outside(axes[0])
    steps = rows[(rows["metric"] == "effective_step") & (rows["heads"] == 2)].merge(two_signed(table))
    for converged, group in steps.groupby("two_signed"):
        axes[1].plot(
            group["train_length"],
            group["value"],
            "o" if converged else "x",
            color="C2" if converged else "grey",
            label=r"$\pm$ heads" if converged else "one-signed seeds",
        )
    grid = np.linspace(min(lengths), max(lengths), 50)
    axes[1].plot(grid, [theory.eta_star(d, n, noise) for n in grid], "k--", label=r"$\eta^*$ (theory)")
    axes[1].set(
        ylim=(0, 1.1),
        xlabel=r"training length $L$",
        ylabel=r"$\Sigma_h\, \mu_h \omega_h$",
        title=r"effective step ($H=2$)",
    )
    legend_outside(axes[1])
    return save(fig, out_dir, "circuits.png")


def _bayes_ratio(table: pd.DataFrame, out_dir: Path) -> Path:
    rows = table[table["metric"] == "bayes_ratio"].drop_duplicates("xi").sort_values("xi")
    fig, axes = panels(1, 1)
    fig.set_size_inches(4.5, 3.6)
    ax = axes[0, 0]
    ax.plot(rows["xi"], rows["value"], "C0-", label=r"$R_{\mathrm{dGD}}(\eta^*)$ / Bayes risk (limit)")
    ax.plot(rows["xi"], rows["predicted"], "k--", label="Thm 1(3) bound")
    ax.set(
        xscale="log",
        xlabel=r"$\xi = d / L$",
        ylabel="risk ratio to Bayes",
        title=rf"$\sigma^2 = {table['p.noise_var'].iloc[0]:g}$",
    )
    figure_legend(fig, axes, ncols=1)
    return save(fig, out_dir, "bayes_ratio.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The six figures the claims link to."""
    return [
        reduced_dynamics(table, out_dir),
        adam_paths(table, out_dir),
        _risk_vs_context(table, out_dir),
        _bayes_ratio(table, out_dir),
        _length_generalisation(table, out_dir),
        _circuits(table, out_dir),
    ]
