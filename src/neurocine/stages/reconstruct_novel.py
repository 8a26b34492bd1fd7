"""Stage ``reconstruct-novel``: reconstruction of movie frames the model never saw, for every
movie the sessions show (:func:`neurocine.evaluate.reconstruction.novel_frames_protocol`:
blocks of the movie removed from every train and valid repeat for the embedding and every
decoder, reconstructed from the test repeat). Metrics go to
``metrics.json["reconstruction"]["novel_frames"][<movie>]`` (the first movie's entry also
at the top level of ``novel_frames``, as in earlier versions).
"""

from __future__ import annotations

from neurocine.evaluate.reconstruction import novel_frames_protocol
from neurocine.stages.base import Stage, StageContext, movie_labels, per_movie, register_stage, skipped
from neurocine.stages.reconstruct import movie_summary, movie_template, reconstruction_figures
from neurocine.stimuli import movie_of


@register_stage
class ReconstructNovel(Stage):
    name = "reconstruct-novel"
    key = "reconstruction.novel_frames"
    help = "reconstruction of every movie's frames never seen in training (held-out frames, stage 4)"
    reads = ("training", "reconstruction")
    reads_files = ()  # it trains an embedding per held-out block
    position = 70

    def enabled(self, config):
        return config.reconstruction.enabled and config.novel_frames.enabled

    def run(self, ctx: StageContext):
        results = {movie_of(label): self.novel_movie(ctx, label) for label in movie_labels(ctx.splits())}
        return per_movie(results, "no movie samples in both the train and the test split of any session")

    def novel_movie(self, ctx: StageContext, label: str) -> dict:
        movie, why = movie_template(ctx, label)
        if movie is None:
            return skipped(why)
        window = tuple(ctx.results.metrics().get("training", {}).get("receptive_field", (5, 5)))
        cfg = ctx.config
        run_blocks = min(cfg.evaluation.folds, cfg.novel_frames.blocks) if cfg.evaluation.folds else None
        out, images = novel_frames_protocol(ctx.splits(), movie, label, cfg, window=window, say=ctx.say,
                                            progress=ctx.progress, log_dir=ctx.log_dir, name=self.name,
                                            run_blocks=run_blocks)
        if images is None:
            return out
        return out.replace(figures=reconstruction_figures(ctx, images, label, "reconstructions_novel",
                                                          "held-out frames (never seen in training), test "
                                                          "repeat")).to_json()

    def summary(self, res):
        return "; ".join(movie_summary(m, res[m], "novel frames") for m in res.get("movies", []))
