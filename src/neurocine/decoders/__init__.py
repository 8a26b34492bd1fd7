"""Decoders from embeddings: frame identification (kNN) and image reconstruction (HalfUNet).

    from neurocine.decoders import HalfUNetDecoder, halfunet_decoding
"""

from neurocine.decoders.frame_id import evaluate_frame_id, knn_predict_frames
from neurocine.decoders.halfunet import ComplexLargeUNetDecoderOnly, HalfUNetDecoder, UNetDecoderOnly
from neurocine.decoders.reconstruction import (decode_images, halfunet_decoding, image_metrics, plot_reconstructions,
                                               ridge_reconstruction)

__all__ = ["HalfUNetDecoder", "UNetDecoderOnly", "ComplexLargeUNetDecoderOnly", "halfunet_decoding",
           "decode_images", "image_metrics", "ridge_reconstruction", "plot_reconstructions",
           "evaluate_frame_id", "knn_predict_frames"]
