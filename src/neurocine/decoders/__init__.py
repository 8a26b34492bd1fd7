"""Decoders from embeddings: frame identification (kNN), image reconstruction (the
:class:`HalfUNet` estimator), their baselines and metrics.

    from neurocine.decoders import HalfUNet, HalfUNetDecoder, halfunet_decoding
"""

from neurocine.decoders.baselines import ridge_reconstruction
from neurocine.decoders.frame_id import evaluate_frame_id, knn_predict_frames
from neurocine.decoders.halfunet import ComplexLargeUNetDecoderOnly, HalfUNetDecoder, UNetDecoderOnly
from neurocine.decoders.metrics import image_metrics
from neurocine.decoders.reconstruction import HalfUNet, halfunet_decoding

__all__ = ["HalfUNet", "HalfUNetDecoder", "UNetDecoderOnly", "ComplexLargeUNetDecoderOnly", "halfunet_decoding",
           "image_metrics", "ridge_reconstruction", "evaluate_frame_id", "knn_predict_frames"]
