"""The main job as stages over one results folder, each a registered :class:`Stage`.

``train`` (embeddings) -> ``decode-frames`` (frame ID) -> ``seed-repeats`` (when asked) ->
``decode-classes`` (trial stimuli) -> ``cross-validate`` (when asked) -> ``reconstruct``
(held-out repeat) -> ``reconstruct-novel`` (held-out frames) -> ``reconstruct-scenes``
(natural scenes), then the report: the order :func:`job` derives from what each stage
reads and writes. ``neurocine run``, the CLI's per-stage subcommands and ``report.html``
loop over it: a new decoder stage is one file with a ``Stage`` subclass
(:mod:`neurocine.stages.base`) decorated with :func:`register_stage`, imported below.
"""

from __future__ import annotations

from neurocine.stages.base import (STAGES, Stage, StageContext, job, job_order, movie_file, movie_labels,
                                   per_movie, register_stage, run_stage, say, skipped, writers)

# the built-in stages register themselves on import (their order is job()'s, not this one)
from neurocine.stages import (train, decode_frames, seed_repeats, decode_classes, cross_validate,  # noqa: E402,F401
                              reconstruct, reconstruct_novel, reconstruct_scenes)

__all__ = ["Stage", "StageContext", "STAGES", "register_stage", "run_stage", "say", "skipped", "movie_labels",
           "per_movie", "movie_file", "job", "job_order", "writers"]
