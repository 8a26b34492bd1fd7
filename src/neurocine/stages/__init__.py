"""The main job as stages over one results folder, each a registered :class:`Stage`.

``train`` (embeddings) -> ``decode-frames`` (frame ID) -> ``seed-repeats`` (when asked) ->
``decode-classes`` (trial stimuli) -> ``reconstruct`` (held-out repeat) ->
``reconstruct-novel`` (held-out frames) -> ``reconstruct-scenes`` (natural scenes), then
the report. ``neurocine run``, the CLI's per-stage subcommands and ``report.html`` loop over
:data:`STAGES`: a new decoder stage is one file with a ``Stage`` subclass decorated with
:func:`register_stage` (what it reads, ``run`` -> metrics, figures, its report section).

:func:`run_stage` is the one preamble every stage shares: reload the run's config, reuse a
finished stage's results unless ``force``, check the files it reads, run, record its
metrics under its key in metrics.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from neurocine.data import RunData
from neurocine.embed.distributed import current
from neurocine.provenance import signal_words
from neurocine.registry import Registry
from neurocine.report.sections import render_section
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
        self.data = data if data is not None else RunData(config.dataset,
                                                          keep_raw=config.evaluation.folds is not None)
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


class Stage:
    """One step of the job.

    Class attributes:
        name: The CLI subcommand (``decode-frames``).
        key: Its entry in metrics.json (``frame_id``).
        help: One line for ``neurocine --help``.
        requires: ``(file, stage that writes it)`` pairs it reads from the folder.
        figures: ``(file, caption)`` of the figures it writes (embedded in the report).
        takes_config: It runs from a config file (train), not from a results folder.
    """

    name: ClassVar[str] = "?"
    key: ClassVar[str] = "?"
    help: ClassVar[str] = ""
    requires: ClassVar[tuple[tuple[str, str], ...]] = (("embeddings.h5", "train"),)
    figures: ClassVar[tuple[tuple[str, str], ...]] = ()
    takes_config: ClassVar[bool] = False

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

    def figure_list(self, metrics: dict) -> list[tuple[str, str]]:
        """``(file, caption)`` of the figures this run of the stage wrote: the class's
        :attr:`figures` and any the metrics list under ``"figures"`` (one per movie, ...)."""
        return list(self.figures) + [tuple(f) for f in metrics.get("figures", [])]

    def report(self, metrics: dict) -> str:
        """This stage's HTML section (tables); its figures are appended by the report. By
        default the report's section registered for :attr:`key`
        (:mod:`neurocine.report.sections`), or its numbers as a table."""
        return render_section(self.key, metrics, self.name)


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
    """Class decorator: add a :class:`Stage` to the job (in registration order); a second
    stage of the same name is refused."""
    STAGES.register(cls.name, cls())
    return cls


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
    for name, writer in stage.requires:
        results.require(name, writer)
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


# the built-in stages, in job order
from neurocine.stages import (train, decode_frames, seed_repeats, decode_classes, cross_validate,  # noqa: E402,F401
                              reconstruct, reconstruct_novel, reconstruct_scenes)

__all__ = ["Stage", "StageContext", "STAGES", "register_stage", "run_stage", "say", "skipped", "movie_labels",
           "per_movie", "movie_file"]
