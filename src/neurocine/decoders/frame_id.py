"""Frame identification: which movie frame a held-out sample was recorded during.

Every decoder is fitted on the train split (movie samples) and compared on the same
held-out samples:

* ``knn``: the median frame of the ``k`` nearest train samples (cosine);
* ``template``: the per-frame mean response over the train repeats; the frame whose
  template correlates best with the sample (the classic population "template matching"
  decoder; optimal for stimulus-locked responses with Gaussian noise);
* ``linear``: ridge regression onto one-hot frames (a linear classifier), the ridge
  penalty chosen on the validation split.

Applied to: raw dF/F of one sample (``raw_knn``), raw dF/F over the encoder's own window
(``raw_window_knn``, ``template``, ``linear``: the encoder sees ``left + right`` samples, so
do they), a PCA of that window (``pca_knn``), and each embedding (whose best decoder is
chosen on validation). Chance is the exact expectation of a uniform guess.

Metrics (fractions in [0, 1], errors in frames):

* ``accuracy_1s``: fraction of samples with ``|predicted - true frame| < tolerance``
  (30 frames = 1 s at 30 Hz);
* ``mean_abs_frame_error``: mean of ``|predicted - true frame|``.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from neurocine.decoders.uncertainty import block_bootstrap, blocks_of

ALPHAS = (1e1, 1e2, 1e3, 1e4, 1e5)


# --------------------------------------------------------------------------- features
def window_features(x: np.ndarray, segment: np.ndarray, left: int, right: int) -> np.ndarray:
    """``(T, D * (left + right)) float32``: each sample's window ``[c - left, c + right)``
    flattened, as a CEBRA encoder with that receptive field sees it (the window is
    clamped to the sample's contiguous segment, edges repeated as ``transform`` pads)."""
    T = len(x)
    offsets = np.arange(-left, right)
    idx = np.clip(np.arange(T)[:, None] + offsets[None], 0, max(T - 1, 0))
    starts = np.r_[0, np.flatnonzero(np.diff(segment) != 0) + 1]
    first = starts[np.searchsorted(starts, np.arange(T), side="right") - 1]
    last = np.r_[starts[1:], T][np.searchsorted(starts, np.arange(T), side="right") - 1] - 1
    idx = np.clip(idx, first[:, None], last[:, None])
    return np.ascontiguousarray(x[idx].reshape(T, -1), dtype=np.float32)


# --------------------------------------------------------------------------- decoders
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


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm: ``unit_rows(a) @ unit_rows(b).T`` is the
    Pearson correlation of every row of ``a`` with every row of ``b``."""
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class FrameTemplates:
    """Per-frame mean of the train samples; predicts the frame whose template correlates
    best with a sample. Frames without train samples are never predicted.

    Example:
        >>> x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.1, 0.0]])
        >>> FrameTemplates(x, np.array([0, 1, 0])).predict(np.array([[0.9, 0.0, 0.1]])).tolist()
        [0]
    """

    def __init__(self, train_X: np.ndarray, train_frames: np.ndarray):
        frames, inverse = np.unique(train_frames, return_inverse=True)
        sums = np.zeros((len(frames), train_X.shape[1]))
        np.add.at(sums, inverse, train_X)
        self.frames = frames
        self.templates = unit_rows(sums / np.bincount(inverse)[:, None])

    def predict(self, X: np.ndarray, batch: int = 4096) -> np.ndarray:
        out = np.empty(len(X), dtype=np.int64)
        for i in range(0, len(X), batch):
            out[i:i + batch] = self.frames[np.argmax(unit_rows(X[i:i + batch]) @ self.templates.T, axis=1)]
        return out


class RidgeFrames:
    """Ridge regression onto one-hot frames (a linear classifier); predicts the frame of
    the largest output. Solved once by an eigendecomposition, so every penalty in
    ``alphas`` costs one matrix product; :meth:`select` picks one on held-out data."""

    def __init__(self, train_X: np.ndarray, train_frames: np.ndarray, alphas=ALPHAS):
        self.frames, inverse = np.unique(train_frames, return_inverse=True)
        X = train_X.astype(np.float64)
        self.mean = X.mean(0)
        X = X - self.mean
        onehot_sum = np.zeros((len(self.frames), X.shape[1]))
        np.add.at(onehot_sum, inverse, X)  # X^T Y, by frame
        self.evals, self.evecs = np.linalg.eigh(X.T @ X)
        self.proj = self.evecs.T @ onehot_sum.T  # V^T X^T Y
        self.alphas = tuple(alphas)
        self.alpha = self.alphas[len(self.alphas) // 2]

    def predict(self, X: np.ndarray, alpha: float | None = None) -> np.ndarray:
        alpha = self.alpha if alpha is None else alpha
        W = self.evecs @ (self.proj / (np.maximum(self.evals, 0) + alpha)[:, None])
        return self.frames[np.argmax((X.astype(np.float64) - self.mean) @ W, axis=1)]

    def select(self, X: np.ndarray, frames: np.ndarray, tolerance: int) -> "RidgeFrames":
        """Keep the penalty with the best accuracy on ``(X, frames)`` (validation data)."""
        scores = [np.mean(np.abs(self.predict(X, a) - frames) < tolerance) for a in self.alphas]
        self.alpha = self.alphas[int(np.argmax(scores))]
        return self


# ---------------------------------------------------------------------------- metrics
def frame_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(pred.astype(np.int64) - true.astype(np.int64))


def summarize(errors: np.ndarray, tolerance: int = 30) -> dict:
    """``{"accuracy_1s", "mean_abs_frame_error", "n"}`` from absolute frame errors."""
    return {"accuracy_1s": float(np.mean(errors < tolerance)) if len(errors) else float("nan"),
            "mean_abs_frame_error": float(np.mean(errors)) if len(errors) else float("nan"),
            "n": int(len(errors))}


def chance_errors(true_frames: np.ndarray, n_frames: int, tolerance: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, the exact expected accuracy and |error| of a uniform guess over
    ``n_frames`` frames: ``((n,) accuracy, (n,) error)``."""
    frames = np.arange(n_frames)
    err = np.abs(np.asarray(true_frames)[:, None].astype(np.int64) - frames[None])
    return (err < tolerance).mean(1), err.mean(1)


def chance_level(true_frames: np.ndarray, n_frames: int, tolerance: int = 30) -> dict:
    """Exact expectation for a guess drawn uniformly from all ``n_frames`` frames."""
    acc, err = chance_errors(true_frames, n_frames, tolerance)
    return {"accuracy_1s": float(acc.mean()), "mean_abs_frame_error": float(err.mean()), "n": int(len(true_frames))}


def movie_rows(frames: np.ndarray) -> np.ndarray:
    return np.flatnonzero(frames >= 0)


# ------------------------------------------------------------------------- evaluation
BASELINES = ("raw_knn", "raw_window_knn", "pca_knn", "linear", "template")
MODEL_DECODERS = ("knn", "template", "linear")


def _decoders_for(feats_train, f_train, feats_valid, f_valid, n_neighbors, tolerance):
    """``{decoder: predict(X)}`` fitted on train (the ridge penalty chosen on valid)."""
    template = FrameTemplates(feats_train, f_train)
    ridge = RidgeFrames(feats_train, f_train).select(feats_valid, f_valid, tolerance)
    return {"knn": lambda X: knn_predict_frames(feats_train, f_train, X, n_neighbors),
            "template": template.predict, "linear": ridge.predict}


def evaluate_frame_id(sessions: list[dict], n_frames: int, *, n_neighbors: int = 5, tolerance: int = 30,
                      window: tuple[int, int] = (5, 5), pca_dim: int = 32, models: dict | None = None,
                      label: str = "natural_movie_one.frame", block_samples: int = 30, n_boot: int = 1000,
                      seed: int = 0, baselines: bool = True) -> dict:
    """Frame ID of each model's embedding beside the baselines, on valid and test.

    Args:
        sessions: One dict per session: ``{"session_id", "rate"?, "train"|"valid"|"test":
            {"neural" (T, N), "segment" (T,), "index" (T,), "frame" (T,), "embeddings":
            {model: (T, D)}}}``.
        n_frames: Frames in the movie (chance).
        window: ``(left, right)`` receptive field of the encoder (the raw window baselines).
        pca_dim: Components of the PCA baseline (the embedding's dimension).
        models: ``{model: {"supervision": str}}`` of the embeddings to evaluate.
        label: The frame label (named as the baselines' supervision).
        block_samples: Samples per bootstrap block (1 s).
        baselines: False evaluates the models only (no baselines, no comparison).

    Returns:
        ``{method: {accuracy_1s, accuracy_1s_ci95, mean_abs_frame_error,
        mean_abs_frame_error_ci95, n, supervision, ...}, "valid": {method: {...}},
        "strongest_baseline", "comparison": {"<model> - <baseline>": {...}},
        "per_session": {sid: {method: {...}}}, "predictions": {sid: {...}}}``; each
        model's entry also says which decoder (chosen on valid) it uses.
    """
    models = models or {}
    base_names = list(BASELINES) if baselines else []
    methods = list(models) + base_names
    preds = {split: {m: [] for m in methods} for split in ("valid", "test")}
    truth = {split: [] for split in ("valid", "test")}
    where = {split: [] for split in ("valid", "test")}
    model_choice = {m: {d: {"valid": [], "test": []} for d in MODEL_DECODERS} for m in models}
    for s in sessions:
        tr = s["train"]
        a = movie_rows(tr["frame"])
        if len(a) == 0 or all(len(movie_rows(s[sp]["frame"])) == 0 for sp in ("valid", "test")):
            continue
        f_tr = tr["frame"][a]
        rows = {sp: movie_rows(s[sp]["frame"]) for sp in ("valid", "test")}
        feats = {sp: {} for sp in ("train", "valid", "test")}
        for sp in ("train", "valid", "test"):
            d, r = s[sp], (a if sp == "train" else rows[sp])
            feats[sp]["raw"] = d["neural"][r]
            feats[sp]["window"] = window_features(d["neural"], d["segment"], *window)[r]
            for m in models:
                feats[sp][m] = d["embeddings"][m][r]
        pca = PCA(n_components=min(pca_dim, *feats["train"]["window"].shape), random_state=seed).fit(feats["train"]["window"])
        for sp in ("train", "valid", "test"):
            feats[sp]["pca"] = pca.transform(feats[sp]["window"])
        f_va = s["valid"]["frame"][rows["valid"]]
        win = {} if not baselines else _decoders_for(feats["train"]["window"], f_tr, feats["valid"]["window"], f_va, n_neighbors, tolerance)
        baseline = {
            "raw_knn": lambda sp: knn_predict_frames(feats["train"]["raw"], f_tr, feats[sp]["raw"], n_neighbors),
            "raw_window_knn": lambda sp: win["knn"](feats[sp]["window"]),
            "pca_knn": lambda sp: knn_predict_frames(feats["train"]["pca"], f_tr, feats[sp]["pca"], n_neighbors),
            "linear": lambda sp: win["linear"](feats[sp]["window"]),
            "template": lambda sp: win["template"](feats[sp]["window"]),
        }
        for sp in ("valid", "test"):
            if len(rows[sp]) == 0:
                continue
            true = s[sp]["frame"][rows[sp]]
            truth[sp].append(true)
            where[sp].append((s["session_id"], s[sp]["index"][rows[sp]]))
            for name in base_names:
                preds[sp][name].append(baseline[name](sp))
        for m in models:
            dec = _decoders_for(feats["train"][m], f_tr, feats["valid"][m], f_va, n_neighbors, tolerance)
            for d, fn in dec.items():
                for sp in ("valid", "test"):
                    if len(rows[sp]):
                        model_choice[m][d][sp].append(fn(feats[sp][m]))
    if not truth["test"]:
        return {}
    true = {sp: np.concatenate(truth[sp]) if truth[sp] else np.zeros(0, np.int64) for sp in ("valid", "test")}
    out = {"valid": {}, "n_frames": n_frames, "tolerance_frames": tolerance, "window": list(window)}
    # each model's decoder: the best on valid
    for m in models:
        valid_acc = {d: float(np.mean(frame_errors(np.concatenate(model_choice[m][d]["valid"]), true["valid"])
                                      < tolerance)) if model_choice[m][d]["valid"] else -1.0
                     for d in MODEL_DECODERS}
        best = max(MODEL_DECODERS, key=lambda d: valid_acc[d])
        for sp in ("valid", "test"):
            preds[sp][m] = model_choice[m][best][sp]
        out[m] = {"decoder": best, "decoder_valid_accuracy_1s": valid_acc, **models[m]}
    scores = {}
    for sp in ("valid", "test"):
        if not len(true[sp]):
            continue
        blocks = blocks_of(np.concatenate([np.full(len(i), sid, dtype=object) for sid, i in where[sp]]).astype(str),
                           np.concatenate([i for _, i in where[sp]]), block_samples)
        acc_c, err_c = chance_errors(true[sp], n_frames, tolerance)
        sc = {"chance": acc_c}
        er = {"chance": err_c}
        for m in methods:
            err = frame_errors(np.concatenate(preds[sp][m]), true[sp])
            sc[m], er[m] = (err < tolerance).astype(np.float64), err.astype(np.float64)
        boot_acc = block_bootstrap(sc, blocks, n_boot, seed, pairs=[(m, b) for m in models for b in base_names])
        boot_err = block_bootstrap(er, blocks, n_boot, seed)
        for m in list(sc):
            entry = {"accuracy_1s": boot_acc[m]["mean"], "accuracy_1s_ci95": boot_acc[m]["ci95"],
                     "mean_abs_frame_error": boot_err[m]["mean"], "mean_abs_frame_error_ci95": boot_err[m]["ci95"],
                     "n": int(len(true[sp]))}
            if sp == "test":
                out.setdefault(m, {}).update(entry)
            else:
                out["valid"][m] = entry
        scores[sp] = boot_acc
    out["chance"]["supervision"] = "none"
    if not baselines:
        out["predictions"] = {}
        return out
    for b in BASELINES:
        out[b]["supervision"] = f"{label} (train split)"
        out[b]["features"] = {"raw_knn": "dF/F, one sample", "raw_window_knn": f"dF/F, {sum(window)}-sample window",
                              "pca_knn": f"PCA({pca_dim}) of the dF/F window", "linear": "dF/F window",
                              "template": "dF/F window"}[b]
    strongest = max(BASELINES, key=lambda b: out["valid"].get(b, {}).get("accuracy_1s", -1.0))
    out["strongest_baseline"] = strongest
    out["comparison"] = {f"{m} - {strongest}": {k: scores["test"][f"{m} - {strongest}"][k] for k in ("mean", "ci95")}
                         for m in models}
    # per session (test), and the predictions for the figure
    per_session, predictions = {}, {}
    offset = 0
    for sid, idx in where["test"]:
        n = len(idx)
        t = true["test"][offset:offset + n]
        entry, saved = {}, {"true": t}
        for m in methods:
            p = np.concatenate(preds["test"][m])[offset:offset + n]
            entry[m] = summarize(frame_errors(p, t), tolerance)
            saved[m] = p
        entry["chance"] = chance_level(t, n_frames, tolerance)
        per_session[sid] = entry
        predictions[sid] = saved
        offset += n
    out["per_session"] = per_session
    out["predictions"] = predictions
    return out


# ------------------------------------------------------------------- across sessions
def cross_session_frame_id(train: dict, test: dict, n_neighbors: int = 5, tolerance: int = 30) -> dict:
    """kNN fitted on session i's train embeddings, tested on session j's test embeddings
    (meaningful only for aligned multi-session models).

    Args:
        train, test: ``{session_id: {"embedding": (T, D), "frame": (T,)}}``.

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


def consistency(embeddings: dict, frames: dict, n_frames: int) -> dict:
    """CEBRA's between-datasets consistency (R² of linear fits between sessions'
    embeddings, aligned by movie frame), via ``cebra.sklearn.metrics.consistency_score``.

    Args:
        embeddings: ``{session_id: (T, D)}`` (held-out samples).
        frames: ``{session_id: (T,)}`` their frames (-1: not a movie sample).
    """
    from cebra.integrations.sklearn.metrics import consistency_score

    ids = [s for s in embeddings if len(movie_rows(frames[s]))]
    if len(ids) < 2:
        return {}
    embs = [embeddings[s][movie_rows(frames[s])] for s in ids]
    labels = [frames[s][movie_rows(frames[s])].astype(float) for s in ids]
    scores, pairs, _ = consistency_score(embs, between="datasets", labels=labels, dataset_ids=ids,
                                         num_discretization_bins=max(n_frames // 10, 2))
    return {"scores": [float(x) for x in np.ravel(scores)],
            "pairs": [[str(a) for a in p] for p in np.asarray(pairs).reshape(-1, 2)],
            "mean_r2": float(np.mean(scores))}


__all__ = ["evaluate_frame_id", "knn_predict_frames", "FrameTemplates", "RidgeFrames", "window_features",
           "chance_level", "cross_session_frame_id", "consistency", "summarize", "BASELINES"]
