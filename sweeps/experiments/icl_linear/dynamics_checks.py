"""The checks of the ``icl_linear`` dynamics claims (He et al. 2025, notes A2.3 and A3; see `dynamics_claims`).

Rows come from `study_dynamics`: the reduced model's GD and SGD paths beside the flow of L̃, the full
model's Adam path, and the stall prediction made from each seed's initialisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import Verdict
from attnbench.sweeps.experiments.icl_linear.checks import EFFECTIVE_STEP, ZERO_SUM, two_signed

# The Stage I window: the measured emergence time is within this factor of the flow's (a cut-off).
WINDOW = 2.0
# Fig. 2.3's shape, read on mean_h |ω_h| along the Adam path: a fall of at least 10% from its peak, and a
# last quarter that moves by at most 5% of its final value (cut-offs).
FALL = 0.1
STABLE = 0.05
# The stall prediction must beat the no-information rate at this one-sided binomial level, on ≥ 20 runs.
STALL_LEVEL = 0.01
STALL_RUNS = 20


def _paths(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """(step x head) tables of μ and ω, measured and predicted, for one seed's rows of one method."""
    tables = {}
    for name in ("mu", "omega"):
        picked = rows[rows["metric"] == f"reduced_{name}"]
        tables[name] = picked.pivot_table(index="step", columns="head", values="value")
        tables[f"{name}_flow"] = picked.pivot_table(index="step", columns="head", values="predicted")
    return tables


def emergence_step(mu: pd.DataFrame, omega: pd.DataFrame) -> float:
    """The first logged step from which on every head's signs match (sign ω_h = sign μ_h) and the OV is
    zero-sum (|Σμ| / Σ|μ| ≤ `ZERO_SUM`) through the last logged step; NaN when that never holds."""
    matched = (np.sign(mu) == np.sign(omega)).all(axis=1)
    zero_sum = mu.sum(axis=1).abs() / mu.abs().sum(axis=1) <= ZERO_SUM
    holds = (matched & zero_sum).to_numpy()
    if not holds[-1]:
        return float("nan")
    last_miss = np.flatnonzero(~holds)
    return float(mu.index[last_miss[-1] + 1] if last_miss.size else mu.index[0])


def stage_one_window(rows: pd.DataFrame) -> Verdict:
    """One (L, seed): the reduced model's GD reaches sign matching and zero-sum within a factor `WINDOW` of the
    flow's time, or neither reaches it within the logged horizon."""
    paths = _paths(rows)
    measured = emergence_step(paths["mu"], paths["omega"])
    predicted = emergence_step(paths["mu_flow"], paths["omega_flow"])
    if np.isnan(predicted) or np.isnan(measured):
        ok = bool(np.isnan(predicted) and np.isnan(measured))
    else:
        ok = predicted / WINDOW <= measured <= predicted * WINDOW
    beyond = f"not by step {paths['mu'].index.max():g}"
    return Verdict(
        "pass" if ok else "fail",
        beyond if np.isnan(predicted) else f"step {predicted:g}",
        beyond if np.isnan(measured) else f"step {measured:g}",
        f"within ×{WINDOW:g}",
    )


def _adam_sizes(rows: pd.DataFrame) -> pd.Series:
    """mean_h |ω_h| along each 2-head seed's Adam path, indexed by (seed, step)."""
    paths = rows[(rows["metric"] == "omega_path") & (rows["heads"] == 2)]
    return paths.assign(size=paths["value"].abs()).groupby(["seed", "step"])["size"].mean()


def _drift(size: pd.Series) -> float:
    """How far one path (indexed by step) moves over its last quarter, relative to its final value."""
    tail = size[size.index >= size.index[0] + 0.75 * (size.index[-1] - size.index[0])]
    return float((tail.max() - tail.min()) / size.iloc[-1])


def _rises_and_falls(size: pd.Series) -> bool:
    """One path peaks strictly inside the run and ends at least `FALL` below its peak."""
    return bool(size.index[0] < size.idxmax() < size.index[-1] and 1 - size.iloc[-1] / size.max() >= FALL)


def rise_fall(rows: pd.DataFrame) -> Verdict:
    """Every seed of the cell: mean_h |ω_h| along the 2-head model's Adam path peaks after step 0 and before
    the end, ends at least `FALL` below its peak, and over the last quarter of logged steps moves by at most
    `STABLE` of its final value."""
    sizes = _adam_sizes(rows)
    figures, ok = [], not sizes.empty
    for seed, g in sizes.groupby(level="seed"):
        g = g.droplevel("seed")
        drift = _drift(g)
        ok &= _rises_and_falls(g) and drift <= STABLE
        figures.append(
            f"seed {int(seed)}: peak {g.max():.3f} at step {g.idxmax():g}, final {g.iloc[-1]:.3f}, "
            f"last quarter {drift:.2f}"
        )
    return Verdict(
        "pass" if ok else "fail",
        f"rise, fall ≥ {FALL:.0%} from the peak, last quarter within {STABLE:.0%}",
        "; ".join(figures),
        f"fall ≥ {FALL:g}, drift ≤ {STABLE:g}",
    )


def stall_outcomes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (train_length, seed) of the 2-head models: predicted (the flow of L̃ from the initialisation ends
    one-signed), stalled (the trained model is one-signed), and the naive prediction (the heads' initial ω
    share a sign)."""
    keys = ["train_length", "seed"]
    predicted = rows[(rows["metric"] == "flows_one_signed") & (rows["heads"] == 2)].set_index(keys)["value"] > 0.5
    stalled = ~two_signed(rows).set_index(keys)["two_signed"]
    start = rows[(rows["metric"] == "omega_path") & (rows["heads"] == 2) & (rows["step"] == 0)]
    naive = start.groupby(keys)["value"].agg(lambda v: bool((v > 0).all() or (v < 0).all()))
    return pd.DataFrame({"predicted": predicted, "stalled": stalled, "naive": naive}).dropna()


def stall_predicted(rows: pd.DataFrame) -> Verdict:
    """The flow's prediction matches the outcome on more runs than the no-information rate (the larger class's
    share) explains: one-sided exact binomial test (``scipy.stats.binomtest``) at `STALL_LEVEL`, on at least
    `STALL_RUNS` runs. The naive predictor's accuracy is shown beside it."""
    outcomes = stall_outcomes(rows)
    runs = len(outcomes)
    hits = int((outcomes["predicted"] == outcomes["stalled"]).sum())
    naive = int((outcomes["naive"] == outcomes["stalled"]).sum())
    stalled = int(outcomes["stalled"].sum())
    base = max(stalled, runs - stalled) / runs if runs else 1.0
    pvalue = float(stats.binomtest(hits, runs, min(base, 1 - 1e-12), alternative="greater").pvalue) if runs else 1.0
    missed = ", ".join(
        f"L={int(length)} seed {int(seed)}"
        for length, seed in outcomes.index[outcomes["predicted"] != outcomes["stalled"]]
    )
    return Verdict(
        "pass" if runs >= STALL_RUNS and pvalue < STALL_LEVEL else "fail",
        f"accuracy above the no-information rate {base:.2f} ({max(stalled, runs - stalled)}/{runs})",
        f"{hits}/{runs} right (p = {pvalue:.2g}); {stalled} stalled; naive (initial ω of one sign) {naive}/{runs}"
        + (f"; missed: {missed}" if missed else ""),
        f"one-sided binomial p < {STALL_LEVEL:g}, ≥ {STALL_RUNS} runs",
    )


# The known failures' predicates (measured; dynamics_claims and claims give the numbers).


def still_moving(rows: pd.DataFrame, seeds: pd.Series | None = None) -> bool:
    """Stage II unfinished: every seed of ``rows`` (or of ``seeds``) has a mean |ω_h| that moved by more than
    `STABLE` of its final value over the last quarter of its Adam path."""
    sizes = _adam_sizes(rows)
    chosen = sizes.index.get_level_values("seed").unique() if seeds is None else seeds
    return len(chosen) > 0 and all(_drift(sizes.loc[s]) > STABLE for s in chosen)


def rises_and_falls(rows: pd.DataFrame) -> bool:
    """The shape of Fig. 2.3 without its end: on the seeds at S̄, every mean |ω_h| path peaks inside the run
    and ends at least `FALL` below the peak (only the stabilisation is missing)."""
    seeds = two_signed(rows).query("two_signed")["seed"]
    sizes = _adam_sizes(rows)
    return not seeds.empty and all(_rises_and_falls(sizes.loc[s]) for s in seeds)


def effective_step_misses_still_moving(rows: pd.DataFrame) -> bool:
    """Every seed at S̄ whose Σμω misses η* by more than `checks.EFFECTIVE_STEP` is still in Stage II."""
    seeds = two_signed(rows).query("two_signed")["seed"]
    steps = rows[(rows["metric"] == "effective_step") & (rows["heads"] == 2) & rows["seed"].isin(seeds)]
    misses = steps.loc[(steps["value"] - steps["predicted"]).abs() > EFFECTIVE_STEP, "seed"]
    return not misses.empty and still_moving(rows, misses)


def some_seed_not_monotone_in_batch(rows: pd.DataFrame) -> bool:
    """At least one seed's |SGD − GD| gap grows from one batch size to the next larger one."""
    gaps = rows.pivot_table(index="seed", columns="batch", values="value").sort_index(axis=1)
    return bool((gaps.diff(axis=1).iloc[:, 1:] > 0).to_numpy().any())


def falls_in_mean(rows: pd.DataFrame) -> bool:
    """The mean |GD − flow| gap falls at each longer training length (not significantly: the known failure)."""
    means = rows.groupby("train_length")["value"].mean().sort_index()
    return len(means) > 1 and bool((means.diff().iloc[1:] < 0).all())


def emergence_at_an_edge(rows: pd.DataFrame) -> bool:
    """The predicted or the measured emergence is within 5 logging intervals of step 0 or of the horizon's
    last step, where the ratio of two emergence times is not resolved."""
    paths = _paths(rows)
    edge = 5 * float(rows["p.dynamics_log_every"].iloc[0])
    last = float(paths["mu"].index.max())
    times = [emergence_step(paths["mu"], paths["omega"]), emergence_step(paths["mu_flow"], paths["omega_flow"])]
    return any(t <= edge or t >= last - edge for t in times if not np.isnan(t))


def stalls_predicted_one_sidedly(rows: pd.DataFrame) -> bool:
    """Every stalled run was predicted to stall (none missed), while some predicted stalls escaped."""
    outcomes = stall_outcomes(rows)
    return bool(outcomes.loc[outcomes["stalled"], "predicted"].all()) and bool(
        (outcomes["predicted"] & ~outcomes["stalled"]).any()
    )
