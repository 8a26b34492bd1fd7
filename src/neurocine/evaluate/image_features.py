"""Novel frames reconstructed from an embedding trained on image labels of the frame shown
(issue 23's first lever): a discrete cluster of the frame's pixel PCA, or continuous
per-frame features (pixel PCA or Gabor energy), alone or added to stimulus alignment.
Run by ``bench/bench_reconstruction.py --image-clusters C`` / ``--image-features D``;
measured in ``docs/numbers.md``.
"""

from __future__ import annotations

import numpy as np

from neurocine.data import training_rows
from neurocine.decoders.image_features import frame_features
from neurocine.embed import CEBRA
from neurocine.embed.models import receptive_field
from neurocine.embed.modes.image_features import aligned_image_features
from neurocine.evaluate.reconstruction import fold_block, holdout_splits, reconstruction_protocol
from neurocine.scores import Comparison
from neurocine.settings import Config


def receptive_field_of(cfg: Config) -> tuple[int, int]:
    """``(left, right)`` of the configured encoder, before any fit."""
    import cebra.models  # noqa: PLC0415

    return receptive_field(cebra.models.init(cfg.model.model_architecture, num_neurons=1, num_units=4, num_output=2))


def image_feature_block(splits: dict, movie: np.ndarray, cfg: Config, folds: int, *, label: str,
                        clusters: int | None = None, features: tuple[str, int] | None = None,
                        with_alignment: bool = False, say=None) -> Comparison:
    """The first held-out block of ``folds`` reconstructed from an embedding trained (in
    ``behavior`` mode) on image labels of the frame shown, fitted on the training frames
    only: the k-means cluster (``clusters``) of the frame's pixel PCA (16 components), or
    ``features = (kind, dims)`` continuous features (:func:`frame_features`), alone or added
    to stimulus alignment (``with_alignment``: :func:`aligned_image_features`).

    Returns:
        :func:`~neurocine.evaluate.reconstruction.reconstruction_protocol`'s result on the
        block's test frames.
    """
    from sklearn.cluster import KMeans  # noqa: PLC0415
    from sklearn.decomposition import PCA  # noqa: PLC0415

    say = say or (lambda text: None)
    lo, hi = fold_block(0, folds, len(movie))
    held = holdout_splits(splits, label, lo, hi)
    seen = np.setdiff1d(np.arange(len(movie)), np.arange(lo, hi))
    rows = {sp: training_rows(held[sp]) for sp in ("train", "valid")}
    model = CEBRA.from_config(cfg).set_params(learning_mode="behavior")
    if features:
        feats = frame_features(movie, seen, *features)
        ys = {sp: [feats[p.label(label)] for p in rows[sp]] for sp in rows}
        if with_alignment:  # the labels come from the mode's own sampler instead of y
            model.set_params(learning_mode=aligned_image_features(feats, receptive_field_of(cfg), label))
            ys = {"train": None, "valid": None}
    elif clusters:
        flat = movie.reshape(len(movie), -1)
        pca = PCA(16, random_state=0).fit(flat[seen])
        kmeans = KMeans(clusters, n_init=4, random_state=0).fit(pca.transform(flat[seen]))
        cluster_of = kmeans.predict(pca.transform(flat))  # only training frames' clusters are used
        ys = {sp: [cluster_of[p.label(label)].astype(np.int64) for p in rows[sp]] for sp in rows}
    else:
        raise ValueError("image_feature_block: give clusters or features")
    model.fit(rows["train"], ys["train"], valid=rows["valid"], valid_y=ys["valid"])
    say(f"  embedding: {model.supervision_}, positives {model.positives_}")
    fit = {"splits": held, "emb": {p.session_id: {sp: model.transform(held[sp][i], session_id=i)
                                                   for sp in ("train", "valid")} for i, p in enumerate(held["train"])}}
    ev = {"splits": splits, "emb": {p.session_id: {sp: model.transform(splits[sp][i], session_id=i)
                                                    for sp in ("valid", "test")}
                                    for i, p in enumerate(splits["train"])}}
    res, *_ = reconstruction_protocol(fit, ev, movie, label, cfg, eval_rows=lambda f: (f >= lo) & (f < hi),
                                      window=(model.model_.left, model.model_.right))
    return res


__all__ = ["image_feature_block", "receptive_field_of"]
