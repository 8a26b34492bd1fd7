"""``neurocine run``: every registered stage in job order (:func:`neurocine.stages.job`) over
one results folder, then the
report (see :mod:`neurocine.stages` for the stages and :mod:`neurocine.results` for the
folder).
"""

from __future__ import annotations

import time
from pathlib import Path

from neurocine.data import RunData, find_session_files
from neurocine.embed import distributed
from neurocine.errors import DataError
from neurocine.io.simulate import simulate_dataset
from neurocine.report.html import write_report
from neurocine.results import Results
from neurocine.settings import Config
from neurocine.stages import STAGES, job, run_stage, say


def run_all(cfg: Config, out: str | Path | None = None, force: bool = False, resume: bool = False,
            progress: bool = True) -> dict:
    """All stages, then report.html; returns ``{stage: seconds}``.

    The sessions are read and normalised once (:class:`~neurocine.data.RunData`) and passed
    from stage to stage. Simulates the demo sessions only when the config asks
    (``dataset.simulate``) and ``data_dir`` is missing or empty; otherwise a missing or empty
    ``data_dir`` is an error that creates nothing. Under torchrun only training is
    distributed: after it, rank 0 goes on alone."""
    out = Path(out if out is not None else cfg.output_dir)
    results = Results(out)
    results.check_owned(cfg.dataset.data_dir)  # before anything is simulated, read or written
    ensure_data(cfg, progress)
    data = RunData.for_config(cfg, progress=progress)
    timings = {}
    for stage in job():
        if not stage.enabled(cfg):
            continue
        t = time.perf_counter()
        run_stage(stage, out, cfg if stage.takes_config else None, force, resume and stage.takes_config, progress,
                  data=data)
        timings[stage.name] = time.perf_counter() - t
        if stage.takes_config and distributed.current()[1] > 1:
            rank = distributed.current()[0]
            distributed.finish()
            if rank != 0:
                return timings
        results.update("wall_time_s", {**results.metrics().get("wall_time_s", {}), stage.name: timings[stage.name]})
    t = time.perf_counter()
    path = write_report(out, job())
    timings["report"] = time.perf_counter() - t
    results.update("wall_time_s", timings)
    write_report(out, job())  # again, with the final wall times
    say(f"report: {path}")
    say("wall time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return timings


def ensure_data(cfg: Config, progress: bool = True) -> None:
    """Check that ``dataset.data_dir`` holds session files, simulating them first when the
    config asks for it (``dataset.simulate``) and the folder is missing or empty.

    Raises:
        DataError: missing or empty ``data_dir`` (and no simulation asked for), or a
            folder that holds other files but no sessions (never simulated into).
    """
    ds = cfg.dataset
    data_dir = Path(ds.data_dir)
    empty = not data_dir.exists() or (data_dir.is_dir() and not any(data_dir.iterdir()))
    if ds.simulate and empty:
        if distributed.current()[1] > 1:
            raise DataError(data_dir, "is empty; under torchrun simulate the sessions first "
                                      "('neurocine simulate --out DIR')")
        say(f"run: simulating the 4 demo sessions into {data_dir} (dataset.simulate: true, seed "
            f"{ds.simulate_seed}); every number of this run is from SIMULATED data")
        simulate_dataset(data_dir, progress=progress, seed=ds.simulate_seed)
    find_session_files(data_dir, ds.file_pattern, ds.max_sessions, ds.exclude)  # one clear error if there is nothing


def stage_report(out: str | Path) -> Path:
    """report.html with every stage's numbers and figures."""
    Results(out).check_owned()
    path = write_report(out, job())
    say(f"report: {path}")
    return path


__all__ = ["run_all", "stage_report", "STAGES", "run_stage"]
