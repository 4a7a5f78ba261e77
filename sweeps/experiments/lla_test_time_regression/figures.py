"""The lla_test_time_regression figures: per-position MSE (seed means, smoothed within each segment) beside the
segment-aware Bayes oracle, one panel per (S, d), per stream kind; and the overall MSE ratio model/LLA against d
(seed mean ± std), where the LLA-is-best claim predicts every ratio above 1."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from attnbench.sweeps.experiments.lla_test_time_regression.run import COMPETITORS, ESTIMATORS
from attnbench.sweeps.experiments.lla_test_time_regression.tables import KEYS, overall_mse
from attnbench.sweeps.plotting import legend_outside, panels, save

NAMES = {
    "lla": "LLA",
    "softmax": "softmax attention",
    "linear": "linear attention",
    "ridge": "ridge",
    "ridge_intercept": "ridge with intercept",
    "bayes": "segment-aware Bayes (oracle)",
}
STYLES = {
    "lla": ("C0", "-"),
    "softmax": ("C1", "--"),
    "linear": ("C2", "-."),
    "ridge": ("C3", (0, (5, 1, 1, 1))),
    "ridge_intercept": ("C4", (0, (1, 1.5))),
    "bayes": ("k", ":"),
}
SEGMENT_STYLES = {64: ("o", "-"), 256: ("s", "--")}  # segment length -> marker, line style (others: defaults)
SMOOTHING = 8  # the rolling window is S / SMOOTHING positions, never across a segment boundary


def _smoothed(curve: pd.DataFrame, segment_length: int) -> pd.Series:
    """The per-position MSE, a centred rolling mean over S / SMOOTHING positions within each segment."""
    window = max(1, segment_length // SMOOTHING)
    series = curve.set_index("step")["value"]
    return series.groupby(series.index // segment_length, group_keys=False).apply(
        lambda seg: seg.rolling(window, center=True, min_periods=1).mean()
    )


def _per_position(curves: pd.DataFrame, kind: str, out_dir: Path) -> Path:
    lengths, dims = sorted(curves.segment_length.unique()), sorted(curves.dim.unique())
    fig, axes = panels(len(lengths), len(dims), sharex=True)
    fig.set_size_inches(5.2 * len(dims), 2.6 * len(lengths) + 0.5)
    for (row, segment_length), (col, dim) in product(enumerate(lengths), enumerate(dims)):
        ax = axes[row, col]
        panel = curves[(curves.segment_length == segment_length) & (curves.dim == dim)]
        if panel.empty:
            ax.set_visible(False)
            continue
        for name in ESTIMATORS:
            colour, style = STYLES[name]
            smooth = _smoothed(panel[panel.estimator == name].sort_values("step"), segment_length)
            ax.plot(smooth.index, smooth.to_numpy(), color=colour, ls=style, lw=1.1, label=NAMES[name])
        for boundary in range(segment_length, int(panel.step.max()) + 1, segment_length):
            ax.axvline(boundary, color="grey", lw=0.5, ls="--")
        ax.set(yscale="log", ylabel="MSE (seed mean)", title=f"$S = {segment_length}$, $d = {dim}$, {kind} keys")
    for ax in axes[-1]:
        ax.set_xlabel(r"position $t$ (dashed: segment boundaries)")
    fig.legend(
        *axes[0, 0].get_legend_handles_labels(),
        loc="outside lower center",
        ncol=3,
        title=f"rolling mean over $S/{SMOOTHING}$ positions within each segment",
    )
    return save(fig, out_dir, f"per_position_{kind}.png")


def _ratio_vs_dim(table: pd.DataFrame, out_dir: Path) -> Path:
    per_seed = overall_mse(table[table.stream == "drifting"])
    ratios = per_seed[list(COMPETITORS[1:])].div(per_seed["lla"], axis=0)
    stats = ratios.groupby(level=KEYS).agg(["mean", "std"])
    seeds = per_seed.index.get_level_values("seed").nunique()
    dims = sorted(stats.index.get_level_values("dim").unique())
    fig, axes = panels(1, 2)
    fig.set_size_inches(9.6, 3.6)
    close = [name for name in COMPETITORS[1:] if name != "linear"]
    for ax, names, scale, title in (
        (axes[0, 0], close, "linear", "softmax attention and ridge"),
        (axes[0, 1], ["linear"], "log", "linear attention"),
    ):
        for segment_length, group in stats.groupby(level="segment_length"):
            marker, style = SEGMENT_STYLES.get(segment_length, ("^", ":"))
            for name in names:
                ax.errorbar(
                    group.index.get_level_values("dim"),
                    group[(name, "mean")],
                    yerr=group[(name, "std")].fillna(0),
                    color=STYLES[name][0],
                    marker=marker,
                    ls=style,
                    capsize=3,
                    label=f"{NAMES[name]}, $S = {segment_length}$",
                )
        ax.axhline(1.0, color="k", lw=0.8, ls=":", label="LLA (claim: every ratio > 1)")
        ax.set(
            xscale="log",
            yscale=scale,
            xlabel=r"dimension $d$",
            ylabel=r"$\sum_t \ell(\mathrm{model}) \,/\, \sum_t \ell(\mathrm{LLA})$",
            title=f"{title.capitalize()} against LLA",
        )
        ax.set_xticks(dims, [str(int(d)) for d in dims])
        ax.minorticks_off()
        legend_outside(ax)
    axes[0, 0].set_ylim(bottom=0.9)
    fig.suptitle(f"Overall MSE ratio to LLA, drifting keys (mean ± std over {seeds} seeds)")
    return save(fig, out_dir, "ratio_vs_dim.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The figures, from the stored table alone."""
    curves = table[table.metric == "mse_curve"]
    paths = [_per_position(rows, kind, out_dir) for kind, rows in curves.groupby("stream")]
    paths.append(_ratio_vs_dim(table, out_dir))
    return paths
