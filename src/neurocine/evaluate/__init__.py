"""Protocols on arrays: how decoding is measured, the same for the CLI, the Python API and the
benches. Each takes a run's normalised splits and embeddings (plain dicts of arrays) and
returns metrics with their baselines, intervals and paired margins; none reads or writes
files.

* :mod:`~neurocine.evaluate.frame_id`: frame identification (each movie).
* :mod:`~neurocine.evaluate.trials`: trial decoding (gratings, scenes).
* :mod:`~neurocine.evaluate.reconstruction`: reconstruction of seen and of novel frames.
* :mod:`~neurocine.evaluate.scenes`: natural scenes: reconstruction and identification.
"""

from neurocine.evaluate.frame_id import evaluate_frame_id, frame_id_protocol
from neurocine.evaluate.reconstruction import novel_frames_protocol, reconstruction_protocol
from neurocine.evaluate.scenes import scenes_protocol
from neurocine.evaluate.trials import classify_trials, decode_label

__all__ = ["evaluate_frame_id", "frame_id_protocol", "classify_trials", "decode_label", "reconstruction_protocol",
           "novel_frames_protocol", "scenes_protocol"]
