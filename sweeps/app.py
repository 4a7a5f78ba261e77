"""The Hydra app: one job = one resolved config = one stored run (DESIGN.md, "Data flow").

A job never lets an experiment's error escape: a run that diverges or fails is stored with its status
(``diverged`` with the step, ``failed`` with the error) and the sweep goes on.
"""

from __future__ import annotations

import platform
import time
import traceback
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from attnbench.sweeps import registry
from attnbench.sweeps.config import resolved, validate
from attnbench.sweeps.experiments.base import TABLE_COLUMNS, RunContext
from attnbench.sweeps.store import ExperimentStore, run_id
from attnbench.sweeps.training import Diverged

LIBRARIES = ("torch", "numpy", "scipy", "pandas", "hydra-core", "omegaconf", "cvxpy", "matplotlib")


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a result may depend on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


def tidy(rows: pd.DataFrame) -> pd.DataFrame:
    """Give a run's rows the columns every table has, in front."""
    rows = rows.copy()
    for column in TABLE_COLUMNS:
        if column not in rows:
            rows[column] = np.nan
    return rows[list(TABLE_COLUMNS) + [c for c in rows.columns if c not in TABLE_COLUMNS]]


def execute(config: dict[str, Any], params: Any) -> str:
    """Run one config unless it is already stored; return its run id."""
    experiment = registry.get(config["experiment"])
    store = ExperimentStore(Path(config["results_dir"]), experiment.name)
    rid = run_id(config)
    if store.is_done(rid) and not config["rerun"]:
        print(f"[attnbench] {experiment.name} run {rid}: already stored, skipped")
        return rid
    torch.manual_seed(config["seed"])
    np.random.seed(config["seed"] % 2**32)
    context = RunContext(seed=config["seed"], device=torch.device(config["device"]), progress=config["progress"])
    record: dict[str, Any] = {"run_id": rid, "config": config, "seed": config["seed"]}
    record["versions"] = library_versions()
    rows = pd.DataFrame()
    started = time.perf_counter()
    try:
        rows = tidy(experiment.run(params, context))
        record["status"] = "ok"
    except Diverged as error:
        record.update(status="diverged", diverged_step=error.step, error=str(error))
    except Exception as error:  # a failed run is recorded, never allowed to stop the sweep
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
        record["traceback"] = traceback.format_exc()
    record["wall_time_s"] = round(time.perf_counter() - started, 3)
    store.save(rid, record, rows)
    store.write_table()
    detail = f" ({record['error']})" if record["status"] != "ok" else ""
    print(f"[attnbench] {experiment.name} run {rid}: {record['status']}{detail} in {record['wall_time_s']} s")
    return rid


@hydra.main(config_path=str(Path(__file__).parent / "conf"), config_name="config", version_base="1.3")
def hydra_main(cfg: DictConfig) -> None:
    """Hydra's entry: validate, then run (or skip) the job."""
    params = validate(cfg)
    hydra_config = HydraConfig.get()
    if hydra_config.mode.name == "MULTIRUN":
        job = hydra_config.job
        print(f"[attnbench] sweep job #{job.num}: {' '.join(job.override_dirname.split(',')) or 'defaults'}")
    execute(resolved(cfg, params), params)
