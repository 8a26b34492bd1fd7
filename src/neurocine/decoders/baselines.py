"""Baselines that decoders are compared with (same inputs, same split)."""

from __future__ import annotations

import numpy as np


ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def ridge_images(x_train, y_train, alphas=ALPHAS):
    """Linear baseline, fitted once: ridge regression (alpha by efficient leave-one-out CV)
    from features to flattened pixels. Returns ``x -> images`` shaped like ``(len(x),) +
    y_train.shape[1:]`` float32, to predict several sets without refitting."""
    from sklearn.linear_model import RidgeCV

    y = np.asarray(y_train, dtype=np.float64)
    model = RidgeCV(alphas=alphas).fit(np.asarray(x_train, dtype=np.float64), y.reshape(len(y), -1))
    return lambda x: model.predict(np.asarray(x, dtype=np.float64)).reshape((len(x),) + y.shape[1:]).astype(np.float32)


def ridge_reconstruction(x_train, y_train, x_test, alphas=ALPHAS) -> np.ndarray:
    """:func:`ridge_images` fitted on ``(x_train, y_train)`` and applied to ``x_test``."""
    return ridge_images(x_train, y_train, alphas)(x_test)


__all__ = ["ridge_reconstruction", "ridge_images"]
