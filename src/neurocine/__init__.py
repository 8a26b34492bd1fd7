"""neurocine: Allen Brain Observatory two-photon recordings -> CEBRA embeddings ->
decoded movie frames (frame identification and HalfUNet image reconstruction).

Top-level API:
    Session, load_sessions, load_dataset, Config, simulate_dataset, CEBRA
"""

from neurocine.settings import Config
from neurocine.data import SplitData, load_dataset, load_sessions, make_dataloader, normalize_sessions
from neurocine.errors import ConfigError, DataError, NeurocineError
from neurocine.io.simulate import SimulationConfig, simulate_dataset
from neurocine.session import Session

__version__ = "0.1.0"

__all__ = [
    "Session", "SplitData", "load_sessions", "load_dataset", "make_dataloader", "normalize_sessions",
    "Config", "SimulationConfig", "simulate_dataset", "NeurocineError", "DataError", "ConfigError",
    "CEBRA",
]


def __getattr__(name):
    # the estimator pulls in cebra; import it only when asked for
    if name == "CEBRA":
        from neurocine.embed.estimator import CEBRA
        return CEBRA
    raise AttributeError(f"module 'neurocine' has no attribute {name!r}")
