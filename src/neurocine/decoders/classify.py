"""Trial-level classification: which grating direction, temporal frequency or natural
scene a held-out trial showed.

A trial is a run of consecutive samples (one segment) during which a trial stimulus's
condition is constant. Its features are the mean over the trial's samples (the stimulus
period) of dF/F, or of an embedding: the same window for every decoder. Decoders fitted on
the train split's trials: multinomial logistic regression (``C`` chosen on valid) and kNN
(cosine). Chance is the accuracy of always answering the most frequent train class.

Example:
    >>> import numpy as np
    >>> labels = np.array([np.nan, 0, 0, 0, np.nan, 90, 90, np.nan], dtype=np.float32)
    >>> trial_rows(labels, np.zeros(8, dtype=np.int64))
    [array([1, 2, 3]), array([5, 6])]
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

C_GRID = (0.01, 0.1, 1.0, 10.0)


def trial_rows(values: np.ndarray, segment: np.ndarray, present: np.ndarray | None = None) -> list[np.ndarray]:
    """Row indices of each trial: maximal runs of one value (present) within a segment."""
    values = np.asarray(values)
    present = (np.isfinite(values) if values.dtype.kind == "f" else values >= 0) if present is None else present
    change = np.ones(len(values), dtype=bool)
    same = (values[1:] == values[:-1]) & present[1:] & present[:-1] & (segment[1:] == segment[:-1])
    change[1:] = ~same
    starts = np.flatnonzero(change & present)
    out = []
    for s in starts:
        e = s + 1
        while e < len(values) and not change[e]:
            e += 1
        out.append(np.arange(s, e))
    return out


def trial_means(x: np.ndarray, trials: list[np.ndarray]) -> np.ndarray:
    """``(K, D)`` mean of ``x`` over each trial's rows."""
    return np.stack([x[r].mean(0) for r in trials]) if trials else np.zeros((0, x.shape[1]))


class Logistic:
    """Standardised multinomial logistic regression, ``C`` chosen on validation trials."""

    def __init__(self, X, y, X_valid=None, y_valid=None, seed: int = 0):
        self.scaler = StandardScaler().fit(X)
        Xs = self.scaler.transform(X)
        best = (-1.0, None)
        for C in C_GRID if X_valid is not None and len(X_valid) else (1.0,):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(Xs, y)
            score = model.score(self.scaler.transform(X_valid), y_valid) if X_valid is not None and len(X_valid) else 0
            if score > best[0]:
                best = (score, model)
        self.model, self.C = best[1], best[1].C

    def predict(self, X):
        return self.model.predict(self.scaler.transform(X))


class KNN:
    """kNN (cosine) over trials."""

    def __init__(self, X, y, n_neighbors: int = 5):
        self.model = KNeighborsClassifier(n_neighbors=min(n_neighbors, len(X)), metric="cosine").fit(X, y)

    def predict(self, X):
        return self.model.predict(X)


__all__ = ["trial_rows", "trial_means", "Logistic", "KNN"]
