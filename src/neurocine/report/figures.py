"""Figures of each stage, written atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurocine.atomic import atomic_write  # noqa: E402
from neurocine.stimuli import LABELS  # noqa: E402


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG (atomically) and close it."""
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
    finally:
        plt.close(fig)


def plot_loss_curves(history: list[dict], valid_history: list[dict], path: Path) -> Path:
    """Train InfoNCE per step (and a running mean) with validation InfoNCE."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    if history:
        steps = np.array([h["step"] for h in history])
        loss = np.array([h["loss"] for h in history])
        ax.plot(steps, loss, color="#9ecae1", lw=0.6, label="train (per step)")
        w = max(1, len(loss) // 50)
        if len(loss) >= w:
            ax.plot(steps[w - 1:], np.convolve(loss, np.ones(w) / w, mode="valid"), color="#08519c", lw=1.5,
                    label=f"train ({w}-step mean)")
    if valid_history:
        ax.plot([v["step"] for v in valid_history], [v["valid_loss"] for v in valid_history], "o-", color="#d94801",
                ms=3, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE")
    ax.set_title("CEBRA training")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


def plot_embedding(embeddings: dict, path: Path, split: str = "test", max_sessions: int = 4,
                   label: str | None = None) -> Path:
    """Stimulus samples of each session's embedding, projected on their first three principal
    components, coloured by the stimulus.

    Args:
        embeddings: ``Results.read_embeddings()``.
        label: The label to colour by; default: the first movie's frame label shown, else
            the first trial label with classes (a grating's direction, a scene).
    """
    from sklearn.decomposition import PCA

    sessions = [(sid, d[split]) for sid, d in list(embeddings.items())[:max_sessions] if split in d]
    if label is None:
        shown = lambda n: any(n in d["labels"] and LABELS[n].present(d["labels"][n]).any()  # noqa: E731
                              for _, d in sessions)
        order = ([n for n, sp in LABELS.items() if sp.kind == "frame"]
                 + [n for n, sp in LABELS.items() if sp.kind == "class" and sp.classes is not None])
        label = next((n for n in order if shown(n)), None)
    spec = LABELS.get(label) if label else None
    fig = plt.figure(figsize=(3.2 * max(len(sessions), 1), 3.4))
    sc = None
    for i, (sid, d) in enumerate(sessions):
        emb = d["embedding"]
        ax = fig.add_subplot(1, len(sessions), i + 1, projection="3d")
        values = d["labels"].get(label) if spec is not None else None
        m = spec.present(values) if values is not None else np.zeros(len(emb), bool)
        if m.sum() < 3:
            continue
        colour = values[m] if spec.kind == "frame" else spec.class_ids(values[m])
        top = (spec.n_values or spec.n_classes or 1) - 1
        xyz = PCA(n_components=min(3, emb.shape[1]), random_state=0).fit_transform(emb[m])
        if xyz.shape[1] < 3:
            xyz = np.pad(xyz, ((0, 0), (0, 3 - xyz.shape[1])))
        sc = ax.scatter(xyz[:, 0], xyz[:, 1], xyz[:, 2], c=colour, cmap="viridis", s=1.5, vmin=0, vmax=max(top, 1))
        ax.set_title(f"{sid} ({split}, PCs 1-3)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
    if sc is not None:
        fig.colorbar(sc, ax=fig.axes, shrink=0.6, label="movie frame" if spec.kind == "frame" else f"{label} (class)")
    return save_figure(fig, path)


def plot_frame_errors(predictions: dict, path: Path, n_frames: int) -> Path:
    """Absolute frame error over the movie (test repeat) per method, pooled over sessions.

    Args:
        predictions: ``{session: {"true": (K,), method: (K,)}}`` frame indices.
        n_frames: Frames in the movie.
    """
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    methods = list(dict.fromkeys(k for d in predictions.values() for k in d if k != "true"))
    palette = ["#08519c", "#6baed6", "#d94801", "#6a51a3", "#238b45", "#737373"]
    for method, color in zip(methods, palette):
        errs = np.zeros(n_frames)
        counts = np.zeros(n_frames)
        for d in predictions.values():
            if method in d:
                np.add.at(errs, d["true"], np.abs(d[method] - d["true"]))
                np.add.at(counts, d["true"], 1)
        mean = errs / np.maximum(counts, 1)
        w = 15
        ax.plot(np.arange(n_frames - w + 1) + w // 2, np.convolve(mean, np.ones(w) / w, mode="valid"), color=color,
                label=method.replace("_", " "))
    ax.axhline(30, color="gray", ls="--", lw=0.8, label="1 s")
    ax.set_xlabel("movie frame (test repeat)")
    ax.set_ylabel("|frame error| (frames)")
    ax.set_title("Frame identification error over the movie")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


def plot_reconstructions(originals, rows: dict, path: str | Path, n: int = 5, title: str | None = None) -> Path:
    """The original design's grid: originals on top, then one row per method (e.g. HalfUNet, ridge).

    Args:
        originals: ``(N, C, H, W)`` or ``(N, H, W)``.
        rows: ``{"HalfUNet": images, ...}`` of the same shape.
        n: Columns (frames shown, evenly spaced).
    """
    import torch

    def show(img):
        img = img.numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
        if img.ndim == 3:
            img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
        return img

    N = len(originals)
    cols = np.linspace(0, N - 1, min(n, N)).astype(int)
    lo, hi = float(np.min(np.asarray(originals))), float(np.max(np.asarray(originals)))
    fig, axes = plt.subplots(1 + len(rows), len(cols), figsize=(3 * len(cols), 1.8 * (1 + len(rows))), squeeze=False)
    for j, i in enumerate(cols):
        for r, (name, imgs) in enumerate([("Original", originals)] + list(rows.items())):
            ax = axes[r, j]
            im = show(imgs[i])
            ax.imshow(np.clip((im - lo) / max(hi - lo, 1e-9), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name} {i}", fontsize=8)
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def plot_folds(cv, path: Path, title: str, model: str = "cebra", name: str = "CEBRA embedding") -> Path:
    """Per fold: the model and the strongest baseline of that fold (left), and the margin
    with its mean and 95 % interval over folds (right); ``cv``: a
    :class:`~neurocine.scores.FoldComparison`."""
    folds = cv.per_fold
    k = np.arange(1, len(folds) + 1)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    ax.plot(k, [f[model] for f in folds], "o-", color="#08519c", label=name)
    ax.plot(k, [f["baseline"] for f in folds], "s--", color="#d94801", label="strongest baseline (per fold)")
    if folds and "chance" in folds[0]:
        ax.plot(k, [f["chance"] for f in folds], ":", color="#737373", label="chance")
    ax.set_xlabel("fold")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(k)
    ax.legend(frameon=False, fontsize=7)
    margins = [f["margin"] for f in folds]
    bx.bar(k, margins, color=["#238b45" if m > 0 else "#cb181d" for m in margins])
    m, (lo, hi) = cv.margin(model).value, cv.margin(model).ci95
    bx.axhline(0, color="black", lw=0.8)
    bx.axhspan(lo, hi, color="#9ecae1", alpha=0.4, label=f"mean {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    bx.axhline(m, color="#08519c", lw=1.2)
    bx.set_xlabel("fold")
    bx.set_ylabel("model - strongest baseline")
    bx.set_xticks(k)
    bx.legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


LEARNING_CURVE_STYLES = {
    "adapted": ("adapted, other animals' decoders", "#08519c", "o-"),
    "adapted_own": ("adapted, its own decoders", "#6baed6", "o--"),
    "scratch": ("from scratch on its data", "#6a51a3", "^-"),
    "ridge_map": ("ridge map onto the shared space", "#41ab5d", "v-"),
    "template_own": ("its template on dF/F", "#d94801", "s-"),
    "ridge_own": ("its ridge on dF/F", "#fd8d3c", "s--"),
    "strongest_own": ("its strongest baseline (on its valid)", "#a50f15", "D-"),
    "logistic_own": ("its logistic regression on dF/F", "#d94801", "s-"),
    "knn_own": ("its kNN on dF/F", "#fd8d3c", "s--"),
    "chance": ("chance", "#737373", ":")}


def _curve_axes(ax, ks, entries: list, xlabel: str, ylabel: str, legend: bool = True):
    """One learning-curve panel: each method of ``entries`` (one
    :class:`~neurocine.scores.Comparison` per K) against K, 95 % intervals as bars."""
    for m, (label, colour, style) in LEARNING_CURVE_STYLES.items():
        if not entries[0].has(m):
            continue
        scores = [e.score(m) for e in entries]
        y = np.array([s.value for s in scores])
        lo = y - np.array([s.ci95[0] for s in scores])
        hi = np.array([s.ci95[1] for s in scores]) - y
        ax.errorbar(ks, y, yerr=[lo, hi], fmt=style, color=colour, label=label, capsize=2, ms=4)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(frameon=False, fontsize=7)


def plot_learning_curve(curve: list, path: Path) -> Path:
    """Frame ID of a new animal against the number of repeats it was adapted from: the
    adapted model (others' decoders, and its own), a model from scratch, its own template
    and ridge decoders on dF/F, chance; 95 % intervals as bars."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    _curve_axes(ax, [c.details["repeats"] for c in curve], curve, "repeats of the new animal used",
                "frame ID within 1 s (test)")
    return save_figure(fig, path)


def plot_trials_learning_curve(curve: list[dict], path: Path) -> Path:
    """Trial decoding of a new animal against the trials per condition it was adapted from,
    one panel per class label: the adapted model (others' decoders, and its own), a model
    from scratch, its own logistic and kNN decoders on dF/F, chance; 95 % intervals."""
    labels = sorted({name for c in curve for name in c["classes"]})
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.8), squeeze=False)
    for i, (ax, label) in enumerate(zip(axes[0], labels)):
        got = [c for c in curve if label in c["classes"]]
        _curve_axes(ax, [c["trials_per_condition"] for c in got], [c["classes"][label] for c in got],
                    "trials per condition used", f"{label} (test trials)", legend=i == 0)
    return save_figure(fig, path)
