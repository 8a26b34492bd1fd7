"""``neurocine adapt``: add new animals to a trained results folder's model and measure how
well they are decoded from a few movie repeats or trials per condition
(:func:`neurocine.evaluate.adapt.adapt_session`), as learning curves over K, into a results
folder of its own.
"""

from __future__ import annotations

import time
from pathlib import Path

from neurocine.data import RunData, normalized_splits
from neurocine.data import load_sessions
from neurocine.errors import ConfigError
from neurocine import provenance
from neurocine.evaluate.adapt import (adapt_session, curve_json, first_repeats, first_trials, summarize_adapt,
                                     summarize_adapt_trials)
from neurocine.evaluate.trials import stimulus_trials
from neurocine.evaluate.folds import repeat_ids
from neurocine.report.figures import plot_learning_curve, plot_trials_learning_curve
from neurocine.embed.estimator import CEBRA
from neurocine.results import CONFIG, MODEL, Results
from neurocine.session import SPLITS
from neurocine.report.html import write_report
from neurocine.report.sections import Part
from neurocine.stages import say
from neurocine.stimuli import LABELS, STIMULI


def run_adapt(results_dir: str | Path, data_dir: str | Path, out: str | Path, repeats=None,
              trials_per_condition=None, init: str = "encoder", progress: bool = True) -> dict:
    """Adapt ``results_dir``'s model to every session in ``data_dir`` from its first K train
    repeats of a movie (each K in ``repeats``) and from its first K trials per condition of
    the trial stimuli (each K in ``trials_per_condition``); write ``out/metrics.json["adapt"]``,
    the adapted model, the learning-curve figures and report.html.

    With neither given: ``repeats = (1, 2, 4, 8)`` when the new sessions show a common movie,
    else ``trials_per_condition = (1, 2, 4, 8)``. The saved model is adapted from the largest
    K of the movie repeats (of the trials when no movie curve was asked for).

    Returns:
        ``metrics.json["adapt"]``: the movie curve's largest K at the top (``repeats``,
        ``session_ids``, ``seconds``, ``frame_id``, ``comparison``), ``curve`` (one result per
        K), and ``trials`` (``{"curve": [...]}``, each with ``classes``) when asked for.
    """
    source = Results(results_dir)
    source.check_owned()
    cfg = source.config()
    target = Results(out)
    target.check_owned([data_dir, cfg.dataset.data_dir], inputs=(results_dir,))
    target.check_writable()
    base = CEBRA.load(source.require(MODEL, "train"), config=cfg, config_source=str(source.path(CONFIG)))
    new = load_sessions(data_dir, cfg.dataset.file_pattern, progress=False)
    clash = [s.session_id for s in new if s.session_id in base.session_ids_]
    if clash:
        raise ConfigError(f"{data_dir}: sessions {clash[:3]} are already in the model of {results_dir}; adapt adds "
                          "new animals")
    new_splits = [{sp: normalized_splits([s], sp, cfg.dataset.normalize, cfg.dataset.normalize_time)[0]
                   for sp in SPLITS} for s in new]
    label = next((n for n, spec in LABELS.items() if spec.kind == "frame"
                  and all((p["train"].label(n) >= 0).any() and (p["test"].label(n) >= 0).any() for p in new_splits)),
                 None)
    has_trials = all(any(stimulus_trials(p[sp], name) for name, st in STIMULI.items() if st.structure == "trials")
                     for p in new_splits for sp in ("train", "test"))
    if repeats is None and trials_per_condition is None:
        repeats, trials_per_condition = ((1, 2, 4, 8), None) if label is not None else (None, (1, 2, 4, 8))
    ks, kt = [], []
    if repeats is not None:
        if label is None:
            raise ConfigError(f"--repeats: the new sessions in {data_dir} show no common movie in their train and "
                              "test splits (use --trials-per-condition for trial stimuli)")
        available = min(int(repeat_ids(p["train"].label(label)).max()) + 1 for p in new_splits)
        ks = sorted({int(k) for k in repeats if 1 <= int(k) <= available})
        if not ks:
            raise ConfigError(f"--repeats {list(repeats)}: the new sessions have {available} train repeats of {label}")
        beyond = sorted({int(k) for k in repeats} - set(ks))
        if beyond:
            say(f"adapt: --repeats {' '.join(map(str, beyond))} left out: the new sessions have {available} train "
                f"repeats of {label}")
    if trials_per_condition is not None:
        if not has_trials:
            raise ConfigError(f"--trials-per-condition: a new session in {data_dir} has no train or test trial of a "
                              "trial stimulus")
        kt = sorted({int(k) for k in trials_per_condition if int(k) >= 1})
        if not kt:
            raise ConfigError(f"--trials-per-condition {list(trials_per_condition)}: expected counts >= 1")
    reference = RunData(cfg.dataset).splits
    metrics = {"base_model": str(source.path(MODEL)),
               "base_sessions": list(base.session_ids_), "figures": []}
    with target.lock():
        if ks:
            curve = []
            for k in ks:
                outcomes = [adapt_session(base, reference, p, cfg, k=k, label=label, init=init, say=say,
                                          progress=progress)[0] for p in new_splits]
                curve.append(summarize_adapt(outcomes, k, init, label, cfg.training.seed))
            plot_learning_curve(curve, target.figure("adapt_curve.png"))
            metrics.update({**curve[-1].to_json(), "curve": curve_json(curve)})
            metrics["figures"].append(["adapt_curve.png", "Frame ID of the new animal(s) against the repeats it was "
                                                          "adapted from, beside its own decoders on dF/F"])
        if kt:
            curve = []
            for k in kt:
                outcomes = [adapt_session(base, reference, p, cfg, k=k, unit="trials", init=init, say=say,
                                          progress=progress)[0] for p in new_splits]
                curve.append(summarize_adapt_trials(outcomes, k, init, cfg.training.seed))
            plot_trials_learning_curve(curve, target.figure("adapt_trials_curve.png"))
            metrics["trials"] = {"curve": curve_json(curve)}
            metrics.setdefault("session_ids", curve[-1]["session_ids"])
            metrics["figures"].append(["adapt_trials_curve.png", "Trial decoding of the new animal(s) against the "
                                                                 "trials per condition it was adapted from, beside "
                                                                 "its own decoders on dF/F"])
        t0 = time.perf_counter()
        adapted = base
        if ks:
            adapted.adapt([first_repeats(p["train"], label, ks[-1]) for p in new_splits],
                          valid=[p["valid"] for p in new_splits], init=init, progress=progress)
        else:
            adapted.adapt([first_trials(p["train"], kt[-1]) for p in new_splits],
                          valid=[p["valid"] for p in new_splits], init=init, progress=progress)
        adapted.save(target.path(MODEL))
        metrics["model_seconds"] = time.perf_counter() - t0
        metrics["model_adapted_from"] = (f"{ks[-1]} repeat(s) of {label}" if ks
                                         else f"{kt[-1]} trial(s) per condition")
        target.update("provenance", provenance.collect(
            cfg.override({"dataset.data_dir": str(data_dir)}), [s.path for s in new], [s.session_id for s in new],
            [s.layout for s in new]))
        target.update("adapt", metrics)
    write_report(target.out, [Part("adapt", "adapt")])
    say(f"adapt: report {target.path('report.html')}")
    return metrics


__all__ = ["run_adapt"]
