"""CEBRA embeddings: the estimator, device-side samplers and the training loop."""

from neurocine.embed.estimator import CEBRA
from neurocine.embed.models import MultiSessionEncoder, available_models, init_encoder, make_criterion
from neurocine.embed.sampling import ContinuousSampler, DiscreteSampler, Sampler, TimeSampler
from neurocine.embed.trainer import TrainState, train_contrastive

__all__ = ["CEBRA", "MultiSessionEncoder", "available_models", "init_encoder", "make_criterion",
           "Sampler", "TimeSampler", "DiscreteSampler", "ContinuousSampler", "TrainState", "train_contrastive"]
