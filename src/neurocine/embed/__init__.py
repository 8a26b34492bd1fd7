"""CEBRA embeddings: the estimator, device-side samplers and the training loop."""

from neurocine.embed.estimator import CEBRA
from neurocine.embed.models import MultiSessionEncoder, available_models, init_encoder, make_criterion
from neurocine.embed.sampling import ContrastiveSampler, stimulus_keys
from neurocine.embed.trainer import TrainSettings, train_contrastive

__all__ = ["CEBRA", "MultiSessionEncoder", "available_models", "init_encoder", "make_criterion",
           "ContrastiveSampler", "stimulus_keys", "TrainSettings", "train_contrastive"]
