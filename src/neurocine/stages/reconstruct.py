"""Stage ``reconstruct``: movie frames from embeddings, held-out repeat (frames seen in
training), for every movie the sessions show whose template is available
(``metrics.json["reconstruction"][<movie>]``; the first movie's entry also at the top
level, as in earlier versions). A movie without a template is skipped with the reason.

The protocol is :func:`neurocine.evaluate.reconstruction.reconstruction_protocol`; the
stage reads the run's data, embeddings and templates, saves the HalfUNet and a figure.
"""

from __future__ import annotations

import numpy as np

from neurocine.errors import TemplateNotFound
from neurocine.evaluate.reconstruction import MODELS, reconstruction_protocol
from neurocine.report.figures import plot_reconstructions
from neurocine.report.tables import ci
from neurocine.scores import Comparison
from neurocine.stages.base import Stage, StageContext, movie_file, movie_labels, per_movie, register_stage, skipped
from neurocine.stimuli import LABELS, movie_of


def movie_template(ctx: StageContext, label: str):
    """The frames of ``label``'s movie at the run's output shape, or None with the reason
    (no source holds the template: the stage has nothing to reconstruct for that movie)."""
    try:
        return ctx.template(movie_of(label), LABELS[label].n_values), None
    except TemplateNotFound as exc:
        return None, str(exc)


FIGURE_ROWS = {"halfunet": "HalfUNet", "halfunet_retrieval": "retrieval + HalfUNet",
               "ridge_embedding": "ridge (embedding)", "retrieval": "retrieval (dF/F)",
               "retrieval_ridge_dff": "retrieval + ridge (dF/F)", "ridge_dff": "ridge (dF/F)",
               "mean_frame": "mean frame"}
#: The figure's caption after "original (top), ".
FIGURE_ROWS_CAPTION = ("the HalfUNet, retrieval corrected by the HalfUNet, ridge from the embedding, retrieval (the "
                       "training frame the dF/F template decoder picks), retrieval corrected by ridge from dF/F, ridge "
                       "from dF/F, the mean training frame")


def reconstruction_figure(images: dict, path, title: str):
    """Originals (top) beside every method, the model's rows first (first session)."""
    first = images["session"] == images["session"][0]
    sel = np.flatnonzero(first)[np.argsort(images["frames"][first], kind="stable")]
    plot_reconstructions(images["target"][sel], {name: images[m][sel] for m, name in FIGURE_ROWS.items()}, path, n=5,
                         title=title)


def reconstruction_figures(ctx: StageContext, images: dict, label: str, stem: str, what: str) -> list:
    """The figure of each animal alone (first session) and, with several sessions, of every
    animal at once; ``[[file, caption], ...]`` for ``metrics["figures"]``."""
    movie = movie_of(label)
    figures = []
    for suffix, imgs, who in (("", images, f"session {images['session'][0]}"),
                              ("_pooled", images.get("pooled"), "every animal at once")):
        if imgs is None:
            continue
        figure = movie_file(stem + suffix, label)
        reconstruction_figure(imgs, ctx.results.figure(figure), f"{movie}, {what}, {who}")
        figures.append([figure, f"{movie}, {what}, {who}: original (top), " + FIGURE_ROWS_CAPTION])
    return figures


def movie_summary(movie: str, entry: dict, what: str) -> str:
    """One movie's line of a reconstruction stage's summary."""
    if "skipped" in entry:
        return f"{movie}: skipped ({entry['skipped']})"
    res = Comparison.from_json(entry, "ssim", models=MODELS)
    b, m = res.strongest_baseline, entry.get("best_model", "halfunet")
    d = res.margin(m)
    model = "" if m == "halfunet" else f"; {m} (chosen on valid) {res.value(m):.3f}"
    line = (f"{movie} SSIM (test, {what}): HalfUNet {res.value('halfunet'):.3f}{model}; strongest baseline {b} "
            f"{res.value(b):.3f}; mean frame {res.value('mean_frame'):.3f}; difference {d.value:+.3f} "
            f"{ci(d.ci95)}")
    pooled = entry.get("pooled") or {}
    if "skipped" not in pooled and pooled:
        at = Comparison.from_json(pooled, "ssim", models=MODELS)
        pm, pb = pooled["best_model"], at.strongest_baseline
        pd = at.margin(pm)
        line += (f"; every animal at once ({pooled['n_sessions']} sessions): {pm} {at.value(pm):.3f} (alone "
                 f"{pooled['alone'][pm]:.3f}), {pb} {at.value(pb):.3f}, difference {pd.value:+.3f} "
                 f"{ci(pd.ci95)}")
    return line


@register_stage
class Reconstruct(Stage):
    name = "reconstruct"
    key = "reconstruction"
    help = "HalfUNet reconstruction of every movie's frames, held-out repeat (stage 3)"
    position = 60

    def enabled(self, config):
        return config.reconstruction.enabled

    def run(self, ctx: StageContext):
        results = {movie_of(label): self.reconstruct_movie(ctx, label) for label in movie_labels(ctx.splits())}
        return per_movie(results, "no movie samples in both the train and the test split of any session")

    def reconstruct_movie(self, ctx: StageContext, label: str) -> dict:
        movie, why = movie_template(ctx, label)
        if movie is None:
            return skipped(why)
        emb = {sid: {sp: d[sp]["embedding"] for sp in d} for sid, d in ctx.embeddings().items()}
        window = tuple(ctx.results.metrics().get("training", {}).get("receptive_field", (5, 5)))
        data = {"splits": ctx.splits(), "emb": emb}
        res, images, decoder, _ = reconstruction_protocol(data, data, movie, label, ctx.config, window=window,
                                                          say=ctx.say, progress=ctx.progress,
                                                          log_dir=ctx.log_dir(f"halfunet_{self.name}"), name=self.name)
        decoder.save(ctx.results.path(movie_file("halfunet", label, ".pt")))
        return res.replace(protocol="held-out repeat: test frames were also training targets (seen images)",
                           figures=reconstruction_figures(ctx, images, label, "reconstructions",
                                                          "test repeat (frames seen in training)")).to_json()

    def summary(self, res):
        return "; ".join(movie_summary(m, res[m], "seen frames") for m in res.get("movies", []))
