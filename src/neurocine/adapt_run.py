"""``neurocine adapt``: add new animals to a trained results folder's model and measure how
well they are decoded from a few repeats (:func:`neurocine.evaluate.adapt.adapt_protocol`),
as a learning curve over K repeats, into a results folder of its own.
"""

from __future__ import annotations

import time
from pathlib import Path

from neurocine.data import RunData, normalized_splits
from neurocine.data import load_sessions
from neurocine.embed.estimator import CEBRA
from neurocine.errors import ConfigError
from neurocine import provenance
from neurocine.evaluate.adapt import adapt_session, first_repeats, summarize_adapt
from neurocine.evaluate.folds import repeat_ids
from neurocine.report.figures import plot_learning_curve
from neurocine.results import MODEL, Results
from neurocine.session import SPLITS
from neurocine.report.html import write_report
from neurocine.stages import Stage, say
from neurocine.stimuli import LABELS


def run_adapt(results_dir: str | Path, data_dir: str | Path, out: str | Path, repeats=(1, 2, 4, 8),
              init: str = "encoder", progress: bool = True) -> dict:
    """Adapt ``results_dir``'s model to every session in ``data_dir`` from its first K train
    repeats, for each K in ``repeats``; write ``out/metrics.json["adapt"]``, the adapted model
    (largest K), the learning-curve figure and report.html.

    Returns:
        ``metrics.json["adapt"]``: the largest K's result (``repeats``, ``session_ids``,
        ``seconds``, ``frame_id``) and ``curve``: one result per K.
    """
    source = Results(results_dir)
    source.check_owned()
    cfg = source.config()
    base = CEBRA.load(source.require(MODEL, "train"))
    target = Results(out)
    target.check_owned(data_dir)
    target.check_writable()
    new = load_sessions(data_dir, cfg.dataset.file_pattern, progress=False)
    clash = [s.session_id for s in new if s.session_id in base.session_ids_]
    if clash:
        raise ConfigError(f"{data_dir}: sessions {clash[:3]} are already in the model of {results_dir}; adapt adds "
                          "new animals")
    label = next((n for n, spec in LABELS.items() if spec.kind == "frame"
                  and all((s.label(n) >= 0).any() for s in new)), None)
    if label is None:
        raise ConfigError(f"{data_dir}: the new sessions show no common movie to measure frame identification on")
    reference = RunData(cfg.dataset).splits
    new_splits = [{sp: normalized_splits([s], sp, cfg.dataset.normalize, cfg.dataset.normalize_time)[0]
                   for sp in SPLITS} for s in new]
    available = min(int(repeat_ids(p["train"].label(label)).max()) + 1 for p in new_splits)
    ks = sorted({int(k) for k in repeats if 1 <= int(k) <= available})
    if not ks:
        raise ConfigError(f"--repeats {list(repeats)}: the new sessions have {available} train repeats of {label}")
    curve, adapted = [], None
    with target.lock():
        for k in ks:
            outcomes = [adapt_session(base, reference, p, cfg, k=k, label=label, init=init, say=say,
                                      progress=progress)[0] for p in new_splits]
            curve.append(summarize_adapt(outcomes, k, init, label, cfg.training.seed))
        t0 = time.perf_counter()
        adapted = base
        adapted.adapt([first_repeats(p["train"], label, ks[-1]) for p in new_splits],
                      valid=[p["valid"] for p in new_splits], init=init, progress=progress)
        adapted.save(target.path(MODEL))
        plot_learning_curve(curve, target.figure("adapt_curve.png"))
        metrics = {**{k: v for k, v in curve[-1].items()}, "curve": curve, "base_model": str(source.path(MODEL)),
                   "base_sessions": list(base.session_ids_[:len(base.session_ids_) - len(new_splits)]),
                   "figures": [["adapt_curve.png", "Frame ID of the new animal(s) against the repeats it was "
                                                   "adapted from, beside its own decoders on dF/F"]],
                   "model_seconds": time.perf_counter() - t0}
        target.update("provenance", provenance.collect(
            cfg.override({"dataset.data_dir": str(data_dir)}), [s.path for s in new], [s.session_id for s in new],
            [s.layout for s in new]))
        target.update("adapt", metrics)
    write_report(target.out, [AdaptPage()])
    say(f"adapt: report {target.path('report.html')}")
    return metrics


class AdaptPage(Stage):
    """The adapt folder's one report section (not a stage of ``neurocine run``)."""

    name = "adapt"
    key = "adapt"


__all__ = ["run_adapt"]
