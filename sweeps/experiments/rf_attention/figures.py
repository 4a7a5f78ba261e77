"""The rf_attention figure (Fu et al. 2023): error and KRR gap vs M, error vs n with the KRR prediction, the
mean sweep, RFA vs RF-MLP vs N; theory beside measurement."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.rf_attention.claims import FIGURE, select
from attnbench.sweeps.plotting import plt, save


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One figure, four panels, from the stored table alone."""
    figure, axes = plt.subplots(1, 4, figsize=(19, 4))
    sections = {name: rows for name, rows in table.groupby("section")}
    heads = select(sections["heads"], "test_error").groupby("heads")[["value", "predicted"]].mean()
    axes[0].loglog(heads.index, heads.value, "o-", label="RFA ridge (measured)")
    axes[0].axhline(heads.predicted.iloc[0], color="k", ls="--", label="KRR, M→∞ (predicted)")
    gaps = select(sections["heads"], "krr_gap").groupby("heads").value.mean()
    axes[0].loglog(gaps.index, gaps.values, "s-", label="‖f_M − f_KRR‖ / sd(y)")
    anchor = gaps.values[0] * math.sqrt(gaps.index[0])
    axes[0].loglog(gaps.index, anchor / np.sqrt(gaps.index), "k:", label="∝ M^{-1/2}")
    axes[0].set(xlabel="heads M", title="error vs M", ylabel="normalised test MSE")
    samples = select(sections["samples"], "test_error").groupby("train_size")[["value", "predicted"]].mean()
    axes[1].loglog(samples.index, samples.value, "o-", label="RFA ridge (measured)")
    axes[1].loglog(samples.index, samples.predicted, "k--", label="KRR (predicted M→∞)")
    axes[1].set(xlabel="train size n", title="error vs n")
    for power, group in select(sections["mean"], "test_error").groupby("target_power", sort=False):
        means = group.groupby("weight_mean").value.agg(["mean", "std"])
        axes[2].errorbar(means.index, means["mean"], yerr=means["std"], fmt="o-", label=f"psi(t) = t^{power:g}")
    axes[2].set(xlabel="mean c of W", title="correlation targets")
    for model, group in sections["keys"].groupby("model"):
        curve = group.groupby("keys").value.mean()
        axes[3].semilogy(curve.index, curve.values, "o-", label=model)
    axes[3].set(xlabel="keys N", title="equal feature count")
    for axis in axes:
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    return [save(figure, out_dir, FIGURE)]
