"""Stage ``reconstruct-scenes``: the natural scene of each held-out trial, reconstructed from
the trial's mean embedding and identified among every scene
(:func:`neurocine.evaluate.scenes.scenes_protocol`), for sessions that show natural scenes
(Allen session B). The template comes from ``dataset.data_dir`` (``natural_scenes.npy``)
or the NWB files (``stimulus/templates``); without one the stage is skipped with the
reason. Novel natural scenes (images never in training) are the real-data bench's job
(``bench/bench_real.py``).
"""

from __future__ import annotations

from neurocine.errors import TemplateNotFound
from neurocine.evaluate.scenes import LABEL, has_scene_trials, scenes_protocol
from neurocine.scores import Comparison
from neurocine.stages.base import Stage, StageContext, register_stage, skipped
from neurocine.stimuli import LABELS


@register_stage
class ReconstructScenes(Stage):
    name = "reconstruct-scenes"
    key = "scenes"
    help = "natural scenes per trial: reconstruction from the template and identification among all scenes"
    position = 80

    def enabled(self, config):
        return config.reconstruction.enabled

    def run(self, ctx: StageContext):
        splits = ctx.splits()
        if not has_scene_trials(splits):
            return skipped("no natural-scene trials in the test split of any session")
        try:
            images = ctx.template("natural_scenes", LABELS[LABEL].n_classes)
        except TemplateNotFound as exc:
            return skipped(str(exc))
        return scenes_protocol(splits, ctx.embeddings(), images, ctx.config, say=ctx.say, progress=ctx.progress,
                               log_dir=ctx.log_dir("halfunet_scenes"),
                               embedding_supervision=ctx.results.get("training", {}).get("supervision")).to_json()

    def summary(self, entry):
        res = Comparison.from_json(entry, "ssim", models=("halfunet",))
        return (f"SSIM HalfUNet {res.value('halfunet'):.3f}, ridge (dF/F) {res.value('ridge_dff'):.3f}, retrieval "
                f"(dF/F) {res.value('retrieval_dff'):.3f}, mean image "
                f"{res.value('mean_image'):.3f}; median rank of the true image "
                f"{res.value('halfunet', 'median_rank'):.0f} of {entry['n_images']} "
                f"(chance {entry['chance_median_rank']:.1f})")
