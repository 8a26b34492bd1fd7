"""The machinery of the job's stages: :class:`Stage` (what a stage reads and writes,
``run`` -> metrics), the registry :data:`STAGES`, the job's order :func:`job` (from what the
stages declare, not from the order they were registered in) and :func:`run_stage`, the one
preamble every stage shares: reload the run's config, reuse a finished stage's results
unless ``force``, check the files and entries it reads, run, record its metrics under its
key in metrics.json.

The stages themselves live one per module beside this one and import it (never the
package, which imports them).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from neurocine.data import RunData
from neurocine.embed.distributed import current
from neurocine.provenance import signal_words
from neurocine.errors import DataError
from neurocine.registry import Registry
from neurocine.report.sections.base import Part
from neurocine.results import EMBEDDINGS, MODEL, Results
from neurocine.stimuli import LABELS, movie_of


def say(msg: str) -> None:
    """Print a progress line (on rank 0 only, under torchrun)."""
    if current()[0] == 0:
        print(msg, flush=True)


class StageContext:
    """What a running stage may use: the results folder, the run's config, and the run's
    data (:class:`~neurocine.data.RunData`: read and normalised once, shared by the stages
    of one ``neurocine run``; a stage run alone reads it once for itself)."""

    def __init__(self, out: str | Path, config, progress: bool = True, resume: bool = False, stage_name: str = "",
                 data: RunData | None = None):
        self.stage_name = stage_name
        self.results = Results(out)
        self.out = self.results.out
        self.config = config
        self.progress = progress
        self.resume = resume
        self.data = data if data is not None else RunData.for_config(config)
        self._embeddings = {}

    def splits(self) -> dict:
        """``{split: [SplitData per session]}`` of the run's sessions, normalised."""
        return self.data.splits

    def embeddings(self, name: str = EMBEDDINGS) -> dict:
        """An embeddings file (:meth:`Results.read_embeddings`), read once."""
        if name not in self._embeddings:
            self._embeddings[name] = self.results.read_embeddings(name)
        return self._embeddings[name]

    def template(self, stimulus: str, n_frames: int | None = None):
        """The template of ``stimulus`` at the run's reconstruction size (found once)."""
        return self.data.template(stimulus, tuple(self.config.reconstruction.output_shape), n_frames)

    def log_dir(self, name: str) -> str | None:
        """``<out>/tensorboard/<name>`` for TensorBoard event files (None when turned off)."""
        return str(self.out / "tensorboard" / name) if self.config.training.tensorboard else None

    say = staticmethod(say)


class Stage(Part):
    """One step of the job.

    Class attributes:
        name: The CLI subcommand (``decode-frames``).
        key: Its entry in metrics.json (``frame_id``).
        help: One line for ``neurocine --help``.
        reads: The metrics.json entries it reads (``("training", "frame_id")``): it runs
            after the stages that write them, and refuses to run before they have.
        reads_files: The files of the results folder it reads (``("embeddings.h5",)``).
        writes: The entries it writes: its :attr:`key` and any it adds under other stages'
            (``"frame_id.*.cv"``: ``*`` stands for any one name).
        writes_files: The files it writes that other stages read.
        position: Its place among stages the data flow leaves unordered (and so its
            section's place in the report).
        figures: ``(file, caption)`` of the figures it writes (embedded in the report).
        takes_config: It runs from a config file (train), not from a results folder.
    """

    name: ClassVar[str] = "?"
    key: ClassVar[str] = "?"
    help: ClassVar[str] = ""
    reads: ClassVar[tuple[str, ...]] = ("training",)
    reads_files: ClassVar[tuple[str, ...]] = (EMBEDDINGS,)
    writes: ClassVar[tuple[str, ...]] = ()
    writes_files: ClassVar[tuple[str, ...]] = ()
    position: ClassVar[int] = 100
    figures: ClassVar[tuple[tuple[str, str], ...]] = ()
    takes_config: ClassVar[bool] = False

    def written(self) -> tuple[str, ...]:
        """Every entry it writes: its key first."""
        return (self.key,) + tuple(w for w in self.writes if w != self.key)

    def enabled(self, config) -> bool:
        """False skips the stage (e.g. ``reconstruction.enabled: false``)."""
        return True

    def done(self, results: Results) -> bool:
        """Are this stage's results already in the folder? (A skipped stage is not done: it
        runs again, in case what it lacked, a template say, is there now.)"""
        found = results.get(self.key)
        return isinstance(found, dict) and "skipped" not in found

    def run(self, ctx: StageContext) -> dict:
        """Do the work, write files and figures; return the metrics to record."""
        raise NotImplementedError

    def summary(self, metrics: dict) -> str:
        """One line printed after the stage."""
        return ""


STAGES = Registry("stage")


def skipped(reason: str, **details) -> dict:
    """The metrics of a stage that has nothing to do (no movie samples, no template, no
    scenes): recorded in metrics.json and shown in the report, so a run always finishes
    and says why a section is missing."""
    return {"skipped": reason, **details}


def movie_labels(splits: dict) -> list[str]:
    """Frame labels of the movies that some session shows in both its train and test
    split (registry order: natural_movie_one first)."""
    return [name for name, spec in LABELS.items() if spec.kind == "frame"
            and any(spec.present(tr.label(name)).any() and spec.present(te.label(name)).any()
                    for tr, te in zip(splits["train"], splits["test"]))]


def per_movie(results: dict[str, dict], none: str) -> dict:
    """One stage's metrics over several movies: ``{movie: result}``, ``"movies"``, and the
    first movie with a result also at the top level (natural_movie_one when shown), where
    earlier versions kept natural_movie_one's numbers. ``none``: the reason when no movie
    is shown at all; when every movie was skipped, the stage is skipped with their reasons."""
    if not results:
        return skipped(none)
    done = [m for m, r in results.items() if "skipped" not in r]
    if not done:
        return skipped("; ".join(f"{m}: {r['skipped']}" for m, r in results.items()), **results,
                       movies=list(results))
    first = {k: v for k, v in results[done[0]].items() if k != "figures"}
    figures = [f for r in results.values() for f in r.get("figures", [])]
    return {**first, **results, "movies": list(results), "figures": figures}


def movie_file(stem: str, label: str, suffix: str = ".png") -> str:
    """File name of a per-movie output: ``stem.png`` for natural_movie_one (the names of
    earlier versions), ``stem_<movie>.png`` for the others."""
    movie = movie_of(label)
    return f"{stem}{suffix}" if movie == "natural_movie_one" else f"{stem}_{movie}{suffix}"


def register_stage(cls):
    """Class decorator: add a :class:`Stage` to the job (its place comes from what it reads
    and writes, :func:`job`); a second stage of the same name is refused."""
    STAGES.register(cls.name, cls())
    return cls


def writers(stages) -> dict[str, "Stage"]:
    """``{entry or file: the stage that writes it}`` over ``stages``."""
    out = {}
    for stage in stages:
        for what in stage.written() + tuple(stage.writes_files):
            out.setdefault(what, stage)
    return out


def job_order(stages) -> list["Stage"]:
    """``stages`` in the order they must run: each after the stages that write what it
    reads (entries and files), ties by :attr:`Stage.position` then name, so the order never
    depends on the order of registration.

    Raises:
        ValueError: the declarations form a cycle.
    """
    stages = list(stages)
    made_by = writers(stages)
    after = {s.name: {made_by[r].name for r in tuple(s.reads) + tuple(s.reads_files)
                      if r in made_by and made_by[r] is not s} for s in stages}
    by_name = {s.name: s for s in stages}
    order, left = [], dict(after)
    while left:
        ready = sorted((n for n, deps in left.items() if not deps - {s.name for s in order}),
                       key=lambda n: (by_name[n].position, n))
        if not ready:
            raise ValueError(f"the stages' reads and writes form a cycle among {sorted(left)}")
        order.append(by_name[ready[0]])
        del left[ready[0]]
    return order


def job() -> list["Stage"]:
    """The registered stages in job order (:func:`job_order`)."""
    return job_order(STAGES.values())


def run_stage(stage: Stage | str, out: str | Path, config=None, force: bool = False, resume: bool = False,
              progress: bool = True, data: RunData | None = None) -> dict:
    """Run one stage over the results folder ``out`` and record its metrics.

    Args:
        stage: A registered stage or its name.
        out: Results folder.
        config: The run's config (default: ``out/config.yaml``; the train stage is given
            one).
        force: Recompute even when the stage's results exist.
        resume: (train) continue from the checkpoint.
        data: The run's data, shared by the stages of one run (default: read for this
            stage, once).
    """
    stage = STAGES[stage] if isinstance(stage, str) else stage
    results = Results(out)
    given = config is not None
    if not given:
        results.check_owned()  # before reading its config.yaml: it may be someone else's
        config = results.config()
    results.check_owned(config.dataset.data_dir)
    results.check_writable()
    if given and not force:  # a finished folder holds another run's results: never mix them silently
        results.check_config(config, resume)
    if resume and stage.takes_config:
        results.check_resume(config)
    if not stage.enabled(config):
        say(f"{stage.name}: disabled in the config")
        return {}
    if not force and not resume and stage.done(results):
        say(f"{stage.name}: reusing the results in {results.out} (use --force to recompute)")
        return results.get(stage.key, {})
    made_by = writers(STAGES.values())
    for name in stage.reads_files:
        results.require(name, made_by[name].name if name in made_by else "train")
    for entry in stage.reads:
        if results.get(entry) is None:
            writer = made_by[entry].name if entry in made_by else "?"
            raise DataError(results.out, f"{stage.name} reads metrics.json's {entry!r}, which {writer} writes: "
                                         f"run 'neurocine {writer}' on this folder first (or 'neurocine run')")
    ctx = StageContext(out, config, progress, resume, stage.name, data)
    if stage.takes_config:  # it takes the lock itself, once its inputs are known good
        model_before = results.digest(MODEL)
        metrics = stage.run(ctx)
        if metrics is not None and model_before is not None and results.digest(MODEL) != model_before:
            _drop_downstream(results, stage)
    else:
        with results.lock():
            metrics = stage.run(ctx)
    if metrics is None:  # a rank > 0 of a distributed run records nothing
        return {}
    if "skipped" in metrics:
        say(f"{stage.name}: skipped: {metrics['skipped']}")
    children = tuple(k.split(".", 1)[1] for k in (s.key for s in STAGES.values()) if k.startswith(stage.key + "."))
    if stage.takes_config:
        with results.lock():
            results.update(stage.key, metrics, keep=children)
    else:
        results.update(stage.key, metrics, keep=children)
    line = "" if "skipped" in metrics else stage.summary(metrics)
    if line:
        line = signal_words(line, results.get("provenance", {}).get("signal"))
        say(f"{stage.name}: {line}")
    return metrics


def _drop_downstream(results: Results, trainer: Stage) -> None:
    """The model was retrained (``--resume`` after an interrupted run, ``train --force``):
    the other stages' results in metrics.json came from the old model, so they are dropped
    (and recomputed by ``neurocine run``) instead of being reported beside the new one."""
    keys = sorted({s.key.split(".")[0] for s in STAGES.values() if s is not trainer and not s.takes_config})
    dropped = [k for k in keys if results.get(k) is not None]
    if dropped:
        with results.lock():
            results.drop(dropped)
        say(f"{trainer.name}: the model changed, so the results computed from the old one were dropped "
            f"({', '.join(dropped)}); the next stages recompute them")


__all__ = ["Stage", "StageContext", "STAGES", "register_stage", "run_stage", "say", "skipped", "movie_labels",
           "per_movie", "movie_file", "job", "job_order", "writers"]
