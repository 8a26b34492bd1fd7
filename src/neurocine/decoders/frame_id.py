"""Frame identification: which movie frame a held-out sample was recorded during, by kNN
(cosine) from train-split samples, with its baselines and chance.

Metrics (fractions in [0, 1], errors in frames):

* ``accuracy_1s``: fraction of test samples with ``|predicted - true frame| < 30``
  (30 frames = 1 s at 30 Hz).
* ``mean_abs_frame_error``: mean of ``|predicted - true frame|``.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def knn_predict_frames(train_X: np.ndarray, train_frames: np.ndarray, test_X: np.ndarray,
                       n_neighbors: int = 5, metric: str = "cosine") -> np.ndarray:
    """Median frame of the ``n_neighbors`` nearest train samples, per test sample.

    Args:
        train_X: ``(T_train, D)`` features of train movie samples.
        train_frames: ``(T_train,)`` their frame indices.
        test_X: ``(T_test, D)``.

    Returns:
        ``(T_test,) int64`` predicted frame indices.
    """
    k = min(n_neighbors, len(train_X))
    nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(train_X)
    _, idx = nn.kneighbors(test_X)
    return np.round(np.median(train_frames[idx], axis=1)).astype(np.int64)


def frame_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(pred.astype(np.int64) - true.astype(np.int64))


def summarize(errors: np.ndarray, tolerance: int = 30) -> dict:
    """``{"accuracy_1s", "mean_abs_frame_error", "n"}`` from absolute frame errors."""
    return {"accuracy_1s": float(np.mean(errors < tolerance)) if len(errors) else float("nan"),
            "mean_abs_frame_error": float(np.mean(errors)) if len(errors) else float("nan"),
            "n": int(len(errors))}


def chance_level(true_frames: np.ndarray, n_frames: int, tolerance: int = 30) -> dict:
    """Exact expectation for a guess drawn uniformly from all ``n_frames`` frames."""
    frames = np.arange(n_frames)
    err = np.abs(true_frames[:, None].astype(np.int64) - frames[None])
    return {"accuracy_1s": float(np.mean(err < tolerance)), "mean_abs_frame_error": float(np.mean(err)),
            "n": int(len(true_frames))}


def movie_rows(frames: np.ndarray) -> np.ndarray:
    return np.flatnonzero(frames >= 0)


def evaluate_frame_id(train: dict, test: dict, embed_dim: int, n_neighbors: int = 5, tolerance: int = 30,
                      seed: int = 0, *, n_frames: int) -> dict:
    """Frame-ID of CEBRA embeddings beside raw dF/F kNN, PCA kNN and chance.

    Args:
        train, test: ``{session_id: {"embedding": (T, D), "neural": (T, N), "frame": (T,)}}``
            for the train and test splits (``neural`` z-scored dF/F).
        embed_dim: PCA dimension (the embedding's).
        n_frames: Frames in the movie (for chance).

    Returns:
        ``{"cebra": {...}, "raw_knn": {...}, "pca_knn": {...}, "chance": {...},
        "per_session": {sid: {method: {...}}}, "predictions": {sid: {...}}}``; pooled
        figures at each method's top level.
    """
    methods = ("cebra", "raw_knn", "pca_knn", "chance")
    pooled = {m: [] for m in methods}
    per_session, predictions = {}, {}
    for sid in test:
        tr, te = train[sid], test[sid]
        a, b = movie_rows(tr["frame"]), movie_rows(te["frame"])
        if len(a) == 0 or len(b) == 0:
            continue
        true = te["frame"][b]
        res, preds = {}, {"true": true}
        feats = {"cebra": (tr["embedding"][a], te["embedding"][b]), "raw_knn": (tr["neural"][a], te["neural"][b])}
        pca = PCA(n_components=min(embed_dim, tr["neural"].shape[1], len(a)), random_state=seed).fit(tr["neural"])
        feats["pca_knn"] = (pca.transform(tr["neural"][a]), pca.transform(te["neural"][b]))
        for name, (x_tr, x_te) in feats.items():
            p = knn_predict_frames(x_tr, tr["frame"][a], x_te, n_neighbors)
            err = frame_errors(p, true)
            pooled[name].append(err)
            res[name] = summarize(err, tolerance)
            preds[name] = p
        res["chance"] = chance_level(true, n_frames, tolerance=tolerance)
        pooled["chance"].append(true)
        per_session[sid] = res
        predictions[sid] = preds
    out = {}
    for m in methods:
        if m == "chance":
            out[m] = chance_level(np.concatenate(pooled[m]), n_frames, tolerance=tolerance) if pooled[m] else {}
        else:
            out[m] = summarize(np.concatenate(pooled[m]), tolerance) if pooled[m] else {}
    out["per_session"] = per_session
    out["predictions"] = predictions
    return out


def cross_session_frame_id(train: dict, test: dict, n_neighbors: int = 5, tolerance: int = 30) -> dict:
    """kNN fitted on session i's train embeddings, tested on session j's test embeddings
    (meaningful only for aligned multi-session models).

    Returns:
        ``{"sessions": [ids], "accuracy_1s": S x S list, "mean_abs_frame_error": S x S list}``.
    """
    ids = [s for s in test if len(movie_rows(test[s]["frame"])) and len(movie_rows(train[s]["frame"]))]
    acc = np.zeros((len(ids), len(ids)))
    mae = np.zeros_like(acc)
    for i, si in enumerate(ids):
        a = movie_rows(train[si]["frame"])
        nn_X, nn_f = train[si]["embedding"][a], train[si]["frame"][a]
        for j, sj in enumerate(ids):
            b = movie_rows(test[sj]["frame"])
            err = frame_errors(knn_predict_frames(nn_X, nn_f, test[sj]["embedding"][b], n_neighbors), test[sj]["frame"][b])
            s = summarize(err, tolerance)
            acc[i, j], mae[i, j] = s["accuracy_1s"], s["mean_abs_frame_error"]
    return {"sessions": ids, "accuracy_1s": acc.tolist(), "mean_abs_frame_error": mae.tolist()}


def consistency(train: dict, n_frames: int) -> dict:
    """CEBRA's between-datasets consistency (R² of linear fits between sessions'
    embeddings, aligned by movie frame), via ``cebra.sklearn.metrics.consistency_score``."""
    from cebra.integrations.sklearn.metrics import consistency_score

    ids = [s for s in train if len(movie_rows(train[s]["frame"]))]
    if len(ids) < 2:
        return {}
    embs = [train[s]["embedding"][movie_rows(train[s]["frame"])] for s in ids]
    labels = [train[s]["frame"][movie_rows(train[s]["frame"])].astype(float) for s in ids]
    scores, pairs, datasets = consistency_score(embs, between="datasets", labels=labels, dataset_ids=ids,
                                                num_discretization_bins=n_frames // 10)
    return {"scores": [float(x) for x in np.ravel(scores)], "pairs": [[str(a) for a in p] for p in np.asarray(pairs).reshape(-1, 2)],
            "mean_r2": float(np.mean(scores))}
