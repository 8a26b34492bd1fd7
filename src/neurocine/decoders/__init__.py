"""Decoders from embeddings or dF/F: frame identification (kNN, per-frame templates, ridge),
image reconstruction (the :class:`HalfUNet` estimator), trial classifiers, their metrics
and uncertainty. The protocols that compare them are in :mod:`neurocine.evaluate`.

    from neurocine.decoders import HalfUNet, HalfUNetDecoder, halfunet_decoding
"""

from neurocine.decoders.baselines import ridge_reconstruction
from neurocine.decoders.frame_id import FrameTemplates, RidgeFrames, knn_predict_frames, window_features
from neurocine.decoders.halfunet import ComplexLargeUNetDecoderOnly, HalfUNetDecoder, UNetDecoderOnly
from neurocine.decoders.metrics import image_metrics
from neurocine.decoders.reconstruction import HalfUNet, halfunet_decoding

__all__ = ["HalfUNet", "HalfUNetDecoder", "UNetDecoderOnly", "ComplexLargeUNetDecoderOnly", "halfunet_decoding",
           "image_metrics", "ridge_reconstruction", "knn_predict_frames", "FrameTemplates", "RidgeFrames",
           "window_features"]
