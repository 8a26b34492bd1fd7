"""``neurocine run``: every registered stage in order over one results folder, then the
report (see :mod:`neurocine.stages` for the stages and :mod:`neurocine.results` for the
folder).
"""

from __future__ import annotations

import time
from pathlib import Path

from neurocine.config import Config
from neurocine.errors import DataError
from neurocine.results import Results
from neurocine.stages import STAGES, run_stage, say


def run_all(cfg: Config, out: str | Path | None = None, force: bool = False, resume: bool = False,
            progress: bool = True, simulate_if_empty: bool = True) -> dict:
    """All stages, then report.html; returns ``{stage: seconds}``.

    Under torchrun only training is distributed: after it, rank 0 goes on alone."""
    from neurocine.embed import distributed
    from neurocine.report.html import write_report

    out = Path(out or cfg.output_dir)
    data_dir = Path(cfg.dataset.data_dir)
    if simulate_if_empty and (not data_dir.exists() or not any(data_dir.glob(cfg.dataset.file_pattern))):
        if distributed.current()[1] > 1:
            raise DataError(data_dir, "holds no sessions; under torchrun simulate them first "
                                      "('neurocine simulate --out DIR')")
        from neurocine.io.simulate import simulate_dataset

        say(f"run: {data_dir} holds no sessions; simulating the 4 demo sessions into it first")
        simulate_dataset(data_dir, progress=progress)
    results = Results(out)
    timings = {}
    for stage in STAGES.values():
        t = time.perf_counter()
        run_stage(stage, out, cfg if stage.takes_config else None, force, resume and stage.takes_config, progress)
        timings[stage.name] = time.perf_counter() - t
        if stage.takes_config and distributed.current()[1] > 1:
            rank = distributed.current()[0]
            distributed.finish()
            if rank != 0:
                return timings
        results.update("wall_time_s", {**results.metrics().get("wall_time_s", {}), stage.name: timings[stage.name]})
    t = time.perf_counter()
    path = write_report(out)
    timings["report"] = time.perf_counter() - t
    results.update("wall_time_s", timings)
    write_report(out)  # again, with the final wall times
    say(f"report: {path}")
    say("wall time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return timings


def stage_report(out: str | Path) -> Path:
    """report.html with every stage's numbers and figures."""
    from neurocine.report.html import write_report

    path = write_report(out)
    say(f"report: {path}")
    return path


__all__ = ["run_all", "stage_report", "STAGES", "run_stage"]
