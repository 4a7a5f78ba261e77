"""The Hydra app: one job = one resolved config = one stored run (ARCHITECTURE.md, "The store").

A job claims its run with an exclusive lock, computes it unless an up-to-date copy is stored, and never lets
an experiment's error escape: a run that diverges or fails is stored with its status (``diverged`` with the
step, ``failed`` with the error) and the sweep goes on. Every job writes its outcome into its Hydra output
folder, and `attnbench.sweeps.callbacks.SweepSummary` sums them up when the sweep ends.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from attnbench.errors import ConfigError
from attnbench.sweeps import registry
from attnbench.sweeps.config import check_device, resolved, validate
from attnbench.sweeps.experiments.base import TABLE_COLUMNS, RunContext
from attnbench.sweeps.fingerprint import fingerprint
from attnbench.sweeps.provenance import provenance
from attnbench.sweeps.store import RETRIED, ExperimentStore, StoreError, run_id
from attnbench.sweeps.training import Diverged

log = logging.getLogger("attnbench")
OUTCOME_FILE = "attnbench_outcome.json"
# The outcomes of the jobs run in this process (the CLI's exit code for a single run).
OUTCOMES: list[str] = []


def tidy(rows: pd.DataFrame) -> pd.DataFrame:
    """Give a run's rows the columns every table has, in front."""
    rows = rows.copy()
    for column in TABLE_COLUMNS:
        if column not in rows:
            rows[column] = np.nan
    return rows[list(TABLE_COLUMNS) + [c for c in rows.columns if c not in TABLE_COLUMNS]]


def reuse_reason(store: ExperimentStore, rid: str, config: dict[str, Any], current: str) -> str | None:
    """Why the stored copy of run ``rid`` can be reused (None: it must be computed)."""
    record = store.record(rid)
    if record is None or config["rerun"] or record["status"] in RETRIED:
        return None
    if record["fingerprint"] != current and not config["reuse_stale"]:
        log.info(
            "%s run %s: stored by other code (fingerprint %s, now %s): recomputing",
            store.experiment,
            rid,
            record["fingerprint"],
            current,
        )
        return None
    return f"already stored ({record['status']})"


def compute(experiment_name: str, params: Any, config: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run the experiment; return its record (status, error, wall time) and its rows."""
    experiment = registry.get(experiment_name)
    torch.set_num_threads(config["threads"])
    torch.manual_seed(config["seed"])
    np.random.seed(config["seed"] % 2**32)
    context = RunContext(
        seed=config["seed"], device=torch.device(config["device"]), progress=config["progress"], log=log.info
    )
    record: dict[str, Any] = {"config": config, "seed": config["seed"]}
    rows = pd.DataFrame()
    started = time.perf_counter()
    try:
        rows = tidy(experiment.run(params, context))
        record["status"] = "ok"
    except Diverged as error:
        record.update(status="diverged", diverged_step=error.step, error=str(error))
        rows = tidy(error.rows) if error.rows is not None else rows
    except Exception as error:  # a failed run is recorded, never allowed to stop the sweep
        record.update(status="failed", error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
    record["wall_time_s"] = round(time.perf_counter() - started, 3)
    return record, rows


def execute(config: dict[str, Any], params: Any, output_dir: str | None = None) -> str:
    """Compute one config unless an up-to-date copy is stored; return the outcome (a status, ``skipped`` or
    ``busy`` when another job holds it)."""
    experiment = registry.get(config["experiment"])
    store = ExperimentStore(Path(config["results_dir"]), experiment.name)
    rid = run_id(config)
    current = fingerprint(experiment)
    store.clear_dead_lock(rid)  # a job killed after saving its record leaves its lock behind
    reason = reuse_reason(store, rid, config, current)
    if reason is not None:
        log.info("%s run %s: %s, skipped", experiment.name, rid, reason)
        return "skipped"
    lock = store.claim(rid)
    if lock is None:
        log.info("%s run %s: being computed by another job, skipped", experiment.name, rid)
        return "busy"
    with lock:
        if reuse_reason(store, rid, config, current) is not None:  # finished by another job meanwhile
            return "skipped"
        record, rows = compute(experiment.name, params, config)
        record.update(
            fingerprint=current, hydra_output_dir=output_dir, **provenance(config["device"], config["threads"])
        )
        store.save(rid, record, rows)
    detail = f" ({record['error']})" if record["status"] != "ok" else ""
    log.info("%s run %s: %s%s in %s s", experiment.name, rid, record["status"], detail, record["wall_time_s"])
    return record["status"]


def _outcome(status: str, rid: str | None, output_dir: str, error: str = "") -> str:
    OUTCOMES.append(status)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / OUTCOME_FILE).write_text(json.dumps({"status": status, "run_id": rid, "error": error}))
    return status


@hydra.main(config_path=str(Path(__file__).parent / "conf"), config_name="config", version_base="1.3")
def hydra_main(cfg: DictConfig) -> str:
    """Hydra's entry: validate, check the device here (where the job runs), then run or skip the job."""
    output_dir = HydraConfig.get().runtime.output_dir
    try:
        params = validate(cfg)
        check_device(str(cfg.device))
        config = resolved(cfg, params)
        return _outcome(execute(config, params, output_dir), run_id(config), output_dir)
    except (ConfigError, StoreError) as error:
        log.error("%s", error)
        return _outcome("failed", None, output_dir, str(error))
