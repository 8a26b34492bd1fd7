"""Natural scenes as a protocol on arrays: the image of each held-out trial reconstructed from
the trial's mean embedding, and identified among every scene.

Each trial is its mean over the image's presentation (embedding or dF/F, the same
samples). Decoders fitted on the train split's trials, the HalfUNet stopped early on
valid's, scored on test: the HalfUNet and ridge from the embedding, ridge from dF/F,
retrieval (the image of the best-correlated train trial's dF/F: the strongest baseline
when every test image was also shown in train trials) and the mean training image (a
floor). Every prediction is also ranked against all template images by correlation
(identification: rank 1 = the true image).
"""

from __future__ import annotations

import numpy as np

from neurocine.decoders import HalfUNet, image_metrics, ridge_reconstruction
from neurocine.decoders.frame_id import unit_rows
from neurocine.decoders.uncertainty import block_bootstrap
from neurocine.evaluate.trials import stimulus_trials
from neurocine.scores import Comparison
from neurocine.settings import Config
from neurocine.stimuli import LABELS

LABEL = "natural_scenes.image"
METHODS = {"halfunet": "HalfUNet from the embedding", "ridge_embedding": "ridge from the embedding",
           "ridge_dff": "ridge from dF/F", "retrieval_dff": "retrieval: image of the nearest train trial (dF/F)",
           "mean_image": "mean training image (floor)"}


def scene_trials(part) -> tuple[list[np.ndarray], np.ndarray]:
    """Rows of each natural-scene trial of a split and its image id."""
    rows = stimulus_trials(part, "natural_scenes")
    return rows, np.array([int(part.label(LABEL)[r[0]]) for r in rows], dtype=np.int64)


def _unit(x: np.ndarray) -> np.ndarray:
    """Each item flattened to a float64 row, centred, unit norm (rows of a correlation)."""
    return unit_rows(x.reshape(len(x), -1).astype(np.float64))


def nearest_trial(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """``(K_test,)`` index of the train trial whose response correlates best with each test
    trial's (``(K, N)`` trial means)."""
    return np.argmax(_unit(test) @ _unit(train).T, axis=1)


def identification_ranks(pred: np.ndarray, templates: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of the true image among all templates by correlation with each
    prediction."""
    corr = _unit(pred) @ _unit(templates).T
    return (corr > corr[np.arange(len(truth)), truth][:, None]).sum(1) + 1


def has_scene_trials(splits: dict) -> bool:
    """Does any session show natural scenes in its test split?"""
    return any(len(scene_trials(p)[1]) for p in splits["test"])


def scenes_protocol(splits: dict, emb: dict, images: np.ndarray, cfg: Config, *, say=None, progress: bool = False,
                    log_dir=None, embedding_supervision=None) -> Comparison:
    """Each test trial's image reconstructed from its mean embedding (HalfUNet, ridge) beside
    ridge and retrieval from dF/F and the mean image, and identified among all images.

    Args:
        splits: ``{split: [SplitData per session]}``.
        emb: ``{session_id: {split: {"embedding": (T, D)}}}``.
        images: ``(118, H, W)`` natural-scene templates in [0, 1].
        cfg: The run's settings (``reconstruction``, ``training.seed``).
        embedding_supervision: The labels that trained the embedding (recorded).

    Returns:
        A :class:`~neurocine.scores.Comparison` of SSIM (each method's with its interval,
        pixel r, the true image's median rank and top-1 identification; the HalfUNet's
        paired margin over each other method). No strongest baseline is named: the
        protocol has no validation choice of one (retrieval is the fair baseline).
    """
    say = say or (lambda text: None)
    trials = [{sp: scene_trials(splits[sp][i]) for sp in ("train", "valid", "test")}
              for i in range(len(splits["train"]))]
    n_images = LABELS[LABEL].n_classes

    def features(split):
        x_emb, x_dff, ids, sess = [], [], [], []
        for i, p in enumerate(splits[split]):
            rows, img = trials[i][split]
            e = emb[p.session_id][split]["embedding"]
            x_emb += [e[r].mean(0) for r in rows]
            x_dff += [p.neural[r].mean(0) for r in rows]
            ids.append(img)
            sess += [i] * len(rows)
        return (np.array(x_emb, np.float32), x_dff, np.concatenate(ids) if ids else np.zeros(0, np.int64),
                np.array(sess))

    e_tr, d_tr, y_tr, s_tr = features("train")
    e_va, _, y_va, _ = features("valid")
    e_te, d_te, y_te, s_te = features("test")
    say(f"reconstruct-scenes: HalfUNet on {len(y_tr)} train / {len(y_va)} valid trials, {len(y_te)} test trials")
    decoder = HalfUNet.from_config(cfg, verbose=progress, log_dir=log_dir)
    decoder.fit(e_tr, images[y_tr][:, None], e_va if len(y_va) else None,
                images[y_va][:, None] if len(y_va) else None)
    pred = {"halfunet": decoder.predict(e_te),
            "ridge_embedding": ridge_reconstruction(e_tr, images[y_tr][:, None], e_te),
            "mean_image": np.broadcast_to(images[y_tr].mean(0)[None, None], (len(y_te), 1) + images.shape[1:])}
    ridge_dff, retrieval = np.zeros_like(pred["ridge_embedding"]), np.zeros_like(pred["ridge_embedding"])
    for i in np.unique(s_te):  # per session: neuron counts differ
        tr = np.flatnonzero(s_tr == i)
        te = np.flatnonzero(s_te == i)
        x_tr, x_te = np.stack([d_tr[k] for k in tr]), np.stack([d_te[k] for k in te])
        ridge_dff[te] = ridge_reconstruction(x_tr, images[y_tr[tr]][:, None], x_te)
        retrieval[te] = images[y_tr[tr][nearest_trial(x_tr, x_te)]][:, None]
    pred["ridge_dff"], pred["retrieval_dff"] = ridge_dff, retrieval
    target = images[y_te][:, None]
    per = {m: image_metrics(pred[m], target, data_range=1.0)["per_frame"] for m in METHODS}
    ranks = {m: identification_ranks(pred[m][:, 0], images, y_te) for m in METHODS}
    blocks = np.arange(len(y_te))  # trials are the independent units
    boot = block_bootstrap({m: per[m]["ssim"] for m in METHODS}, blocks, seed=cfg.training.seed,
                           pairs=[("halfunet", b) for b in METHODS if b != "halfunet"])
    test = {m: {**boot[m].entry("ssim"), "pixel_r": float(per[m]["pixel_r"].mean()),
                "median_rank": float(np.median(ranks[m])), "top1": float(np.mean(ranks[m] == 1))}
            for m in METHODS}
    margins = {k: iv for k, iv in boot.items() if " - " in k}
    out = {}
    out.update({"n_test_trials": int(len(y_te)), "n_train_trials": int(len(y_tr)), "n_images": n_images,
                "chance_median_rank": (n_images + 1) / 2, "supervision": "HalfUNet, ridges and retrieval fitted "
                "on the train split's trials and their images",
                "embedding_supervision": embedding_supervision,
                "images": "seen (each test image also in train trials)"})
    return Comparison("ssim", ("halfunet",), tuple(m for m in METHODS if m != "halfunet"), test, None, margins,
                      details=out)


__all__ = ["scene_trials", "nearest_trial", "identification_ranks", "has_scene_trials", "scenes_protocol", "LABEL",
           "METHODS"]
