"""Baselines that decoders are compared with (same inputs, same split)."""

from __future__ import annotations

import numpy as np


def ridge_reconstruction(x_train, y_train, x_test, alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)) -> np.ndarray:
    """Linear baseline: ridge regression (alpha by efficient leave-one-out CV) from features
    to flattened pixels. Returns predictions shaped like ``(len(x_test),) + y_train.shape[1:]``."""
    from sklearn.linear_model import RidgeCV

    y = np.asarray(y_train, dtype=np.float64)
    model = RidgeCV(alphas=alphas).fit(np.asarray(x_train, dtype=np.float64), y.reshape(len(y), -1))
    return model.predict(np.asarray(x_test, dtype=np.float64)).reshape((len(x_test),) + y.shape[1:]).astype(np.float32)


__all__ = ["ridge_reconstruction"]
