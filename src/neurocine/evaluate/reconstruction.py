"""Reconstruction as protocols on arrays: movie frames decoded from embeddings by the
HalfUNet beside ridge regression from the embedding and from dF/F, the mean training frame
(a floor) and retrieval (the training frame the per-frame template decoder on dF/F picks),
with block-bootstrap intervals and each model's paired margin over each baseline.

A decoder that knows what it saw: ``halfunet_retrieval`` is retrieval corrected by the
HalfUNet, ``(1 - w) retrieval + w HalfUNet`` with ``w`` chosen on validation images (``w =
0`` is retrieval itself, so on validation it is never below it). Its fair baseline,
``retrieval_ridge_dff``, is the same blend with ridge from dF/F in place of the HalfUNet
(the same hedging of a crisp guess towards a smooth one, without the embedding).

* :func:`reconstruction_protocol`: train every method on one set of splits and score it
  on another (the held-out repeat: frames seen in training).
* :func:`novel_frames_protocol`: blocks of the movie removed from training for the
  embedding and every decoder, reconstructed from the test repeat (frames never seen).

Used alike by the ``reconstruct`` and ``reconstruct-novel`` stages, the Python API and the
benches.
"""

from __future__ import annotations

import functools

import numpy as np

from neurocine.data import keep_rows, training_rows
from neurocine.decoders import HalfUNet, image_metrics
from neurocine.decoders.baselines import ridge_images
from neurocine.decoders.frame_id import FrameTemplates, unit_rows, window_features
from neurocine.decoders.uncertainty import block_bootstrap, blocks_of
from neurocine.embed import CEBRA
from neurocine.evaluate.folds import summarize
from neurocine.scores import COMPARISON, STRONGEST, VALID, Comparison
from neurocine.settings import Config
from neurocine.stimuli import movie_of

METHODS = {"halfunet": "HalfUNet from the embedding",
           "halfunet_retrieval": "retrieval corrected by the HalfUNet: (1 - w) retrieval + w HalfUNet, w on valid",
           "ridge_embedding": "ridge from the embedding",
           "ridge_dff": "ridge from dF/F", "mean_frame": "mean training frame (floor)",
           "retrieval": "retrieval: training frame picked by the dF/F template decoder",
           "retrieval_ridge_dff": "retrieval corrected by ridge from dF/F: (1 - w) retrieval + w ridge, w on valid"}
#: The methods that read the embedding; every one is compared with every baseline.
MODELS = ("halfunet", "halfunet_retrieval")
BASELINES = ("ridge_embedding", "ridge_dff", "mean_frame", "retrieval", "retrieval_ridge_dff")
#: Blends of retrieval with a smooth decoder: ``{method: decoder blended into retrieval}``.
#: The same blend for the model (HalfUNet) and for the baseline (ridge on dF/F), so a gain
#: from hedging a crisp guess towards a smooth one is in the baseline too.
BLENDS = {"halfunet_retrieval": "halfunet", "retrieval_ridge_dff": "ridge_dff"}
BLEND_WEIGHTS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
PAIRS = [(m, b) for m in MODELS for b in BASELINES]


def blend_weight(retrieved: np.ndarray, smooth: np.ndarray, target: np.ndarray) -> float:
    """The weight ``w`` of ``(1 - w) retrieved + w smooth`` with the best mean SSIM on
    ``target`` (validation images, ``(N, C, H, W)``), over 0, 0.1, ..., 1; 0 (retrieval
    alone) when there are none. With ``w = 0`` in the grid the blend is never below
    retrieval on the data it is chosen on."""
    if not len(target):
        return 0.0
    scores = [float(image_metrics((1 - w) * retrieved + w * smooth, target, data_range=1.0)["per_frame"]["ssim"].mean())
              for w in BLEND_WEIGHTS]
    return float(BLEND_WEIGHTS[int(np.argmax(scores))])


def add_blends(pred: dict, target: np.ndarray, weights: dict, choose: bool) -> None:
    """Add every :data:`BLENDS` method to ``pred`` (``{method: images}``); with ``choose``
    (the validation images) each weight is first chosen on ``target`` into ``weights``,
    otherwise the weights already there are used (0, retrieval alone, where none)."""
    for m, smooth in BLENDS.items():
        if choose:
            weights[m] = blend_weight(pred["retrieval"], pred[smooth], target)
        w = weights.get(m, 0.0)
        pred[m] = (1 - w) * pred["retrieval"] + w * pred[smooth]


def reconstruction_protocol(fit: dict, evaluate: dict, movie: np.ndarray, label: str, cfg: Config, *,
                            eval_rows=None, window=(5, 5), say=None, progress: bool = False, log_dir=None,
                            name: str = "reconstruct", pooled: bool = True):
    """Train every reconstruction method on ``fit`` and score it on ``evaluate``.

    Args:
        fit: ``{"splits": {split: [SplitData]}, "emb": {session_id: {split: (T, D)}}}``:
            decoders train on the train split's movie samples (the HalfUNet stops early on
            valid's).
        evaluate: The same for the samples scored (valid and test splits).
        movie: ``(K, H, W)`` template frames in [0, 1].
        eval_rows: ``frames -> bool mask`` of the samples scored (default: every movie
            sample).
        window: The encoder's receptive field (the retrieval baseline reads that window).
        cfg: The run's settings (``reconstruction`` for the HalfUNet, ``training.seed``).
        say, progress, log_dir, name: Progress lines (``say(text)``), bars, the HalfUNet's
            TensorBoard folder, and the name progress lines start with.
        pooled: With two sessions or more, also read every animal at once
            (:func:`pooled_animals`, ``metrics["pooled"]``).

    Returns:
        ``(metrics, test_images, decoder, trained_frames)``: one entry per method (test
        numbers with intervals), ``"valid"`` (the same on valid), the strongest baseline (by
        valid SSIM), each model's margin over each baseline, ``best_model`` (by valid SSIM) and
        ``blend_weights`` (and ``pooled``); the test images (``["pooled"]``: every animal at
        once's); the
        HalfUNet; the frames each decoder was trained on (a check for leaks).
    """
    rc = cfg.reconstruction
    eval_rows = eval_rows or (lambda f: f >= 0)

    def rows(part, keep):
        f = part.label(label)
        return np.flatnonzero((f >= 0) & keep(f))

    fs, es = fit["splits"], evaluate["splits"]
    train_rows = [rows(p, lambda f: f >= 0) for p in fs["train"]]
    valid_rows = [rows(p, lambda f: f >= 0) for p in fs["valid"]]
    eval_sets = {sp: [rows(p, eval_rows) for p in es[sp]] for sp in ("valid", "test")}
    sids = [p.session_id for p in es["test"]]

    def stack(source, split, idx_list, what):
        parts = source["splits"][split]
        return np.concatenate([source["emb"][p.session_id][split][r] if what == "emb" else p.label(label)[r]
                               for p, r in zip(parts, idx_list)])

    x_tr, f_tr = stack(fit, "train", train_rows, "emb"), stack(fit, "train", train_rows, "frame")
    x_va, f_va = stack(fit, "valid", valid_rows, "emb"), stack(fit, "valid", valid_rows, "frame")
    rng = np.random.default_rng(cfg.training.seed)
    keep = np.arange(len(x_tr))
    if rc.max_train_samples and len(x_tr) > rc.max_train_samples:
        keep = np.sort(rng.choice(len(x_tr), rc.max_train_samples, replace=False))
    trained_frames = {"halfunet_train": f_tr[keep], "halfunet_valid": f_va, "ridge_mean_retrieval": f_tr}
    (say or (lambda text: None))(f"{name}: HalfUNet on {len(keep)} train / {len(x_va)} valid frames, scored on "
            f"{sum(map(len, eval_sets['test']))} test frames at {movie.shape[1]}x{movie.shape[2]}")
    decoder = HalfUNet.from_config(cfg, verbose=progress, log_dir=log_dir)
    decoder.fit(x_tr[keep], movie[f_tr[keep]][:, None], x_va, movie[f_va][:, None])
    mean_frame = movie[f_tr].mean(0)
    ridge_embedding = ridge_images(x_tr, movie[f_tr][:, None])

    @functools.cache
    def session_ridge(i):
        """Session i's ridge from dF/F to frames, fitted once for every split."""
        p, r = fs["train"][i], train_rows[i]
        return ridge_images(p.neural[r], movie[p.label(label)[r]][:, None])

    @functools.cache
    def session_templates(i):
        """Session i's per-frame templates of its dF/F windows, built once for every split."""
        p, r = fs["train"][i], train_rows[i]
        return FrameTemplates(window_features(p.neural, p.segment, *window)[r], p.label(label)[r])

    out, images_test, weights, alone = {}, {}, {}, {}
    test, valid, margins = {}, {}, {}
    for split in ("valid", "test"):
        idx = eval_sets[split]
        if not sum(map(len, idx)):
            continue
        x_ev, f_ev = stack(evaluate, split, idx, "emb"), stack(evaluate, split, idx, "frame")
        target = movie[f_ev][:, None]
        pred = {"halfunet": decoder.predict(x_ev), "ridge_embedding": ridge_embedding(x_ev),
                "mean_frame": np.broadcast_to(mean_frame[None, None], target.shape)}
        ridge_dff, retrieval = [], []
        for i, q in enumerate(es[split]):
            r_ev = idx[i]
            if not len(r_ev):
                continue
            ridge_dff.append(session_ridge(i)(q.neural[r_ev]))
            w_ev = window_features(q.neural, q.segment, *window)[r_ev]
            retrieval.append(movie[session_templates(i).predict(w_ev)][:, None])
        pred["ridge_dff"], pred["retrieval"] = np.concatenate(ridge_dff), np.concatenate(retrieval)
        add_blends(pred, target, weights, choose=split == "valid")
        scores = {m: image_metrics(pred[m], target, data_range=1.0)["per_frame"] for m in METHODS}
        alone[split] = {m: scores[m]["ssim"] for m in METHODS}
        where_sid = np.concatenate([np.full(len(r), sids[i], dtype=object) for i, r in enumerate(idx)]).astype(str)
        where_idx = np.concatenate([es[split][i].index[r] for i, r in enumerate(idx)])
        blocks = blocks_of(where_sid, where_idx, max(int(round(es[split][0].sampling_rate)), 1))
        boot = {k: block_bootstrap({m: scores[m][k] for m in METHODS}, blocks, seed=cfg.training.seed,
                                   pairs=PAIRS if k == "ssim" else ())
                for k in ("ssim", "psnr", "pixel_r")}
        entry = {m: {k: boot[k][m].value for k in ("ssim", "psnr", "pixel_r")} for m in METHODS}
        for m in METHODS:
            entry[m].update({f"{k}_ci95": list(boot[k][m].ci95) for k in ("ssim", "psnr", "pixel_r")})
        if split == "test":
            test = entry
            margins = {f"{m} - {b}": boot["ssim"][f"{m} - {b}"] for m, b in PAIRS}
            out["n_test_frames"] = int(len(f_ev))
            images_test = {"target": target, "frames": f_ev, "session": where_sid, "index": where_idx, **pred}
        else:
            valid = entry
    res = _ranked(test, valid, margins, out, "test (no valid samples)")
    out["blend_weights"] = {m: weights.get(m, 0.0) for m in BLENDS}
    if pooled and len(fs["train"]) >= 2:
        animals = {"fit": fit, "evaluate": evaluate, "train_rows": train_rows, "eval_rows": eval_sets,
                   "alone": alone, "templates": session_templates}
        out["pooled"], pooled_images = pooled_animals(animals, movie, label, (decoder, ridge_embedding), mean_frame,
                                                      window, cfg.training.seed)
        if pooled_images is not None:
            images_test["pooled"] = pooled_images
    out.update({"label": label, "n_train_frames": int(len(keep)), "output_shape": list(rc.output_shape),
                "architecture": decoder.architecture, "train_loss": decoder.train_loss_,
                "best_valid_loss": decoder.best_valid_loss_, "best_epoch": int(decoder.best_epoch_),
                "loss_fn": rc.loss_fn, "input_noise": rc.input_noise,
                "supervision": "HalfUNet, ridge, mean frame and retrieval trained on the train split's movie frames"})
    return res.replace(details={**res.details, **out}), images_test, decoder, trained_frames


def _ranked(test: dict, valid: dict, margins: dict, details: dict, no_valid: str) -> Comparison:
    """A reconstruction result: the strongest baseline and the best model chosen on valid
    SSIM (on test, and said so, when no valid sample was scored)."""
    ranking = valid or test
    strongest = max(BASELINES, key=lambda b: ranking[b]["ssim"])
    details = {**details, "strongest_baseline_chosen_on": "valid" if valid else no_valid,
               "best_model": max(MODELS, key=lambda m: ranking[m]["ssim"])}
    return Comparison("ssim", MODELS, BASELINES, test, valid, margins, strongest, details)


def occurrence(frames: np.ndarray) -> np.ndarray:
    """``(T,) int64``: how many earlier samples of the same array show each sample's frame
    (0 for the first). ``(frame, occurrence)`` matches samples across sessions that show the
    movie the same way (the k-th time frame f is shown in the split).

    Example:
        >>> occurrence(np.array([3, 5, 3, 3, 5])).tolist()
        [0, 0, 1, 2, 1]
    """
    order = np.argsort(frames, kind="stable")
    ranked = frames[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ranked)) + 1]
    k = np.arange(len(frames)) - np.repeat(starts, np.diff(np.r_[starts, len(frames)]))
    out = np.empty(len(frames), dtype=np.int64)
    out[order] = k
    return out


def aligned_samples(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Positions, in each session's ``frames``, of the samples every session has: the same
    frame at the same occurrence (:func:`occurrence`), in one order for all sessions."""
    width = max(len(f) for f in frames) + 1
    keys = [f.astype(np.int64) * width + occurrence(f) for f in frames]
    common = keys[0]
    for k in keys[1:]:
        common = np.intersect1d(common, k)
    orders = [np.argsort(k, kind="stable") for k in keys]
    return [order[np.searchsorted(k[order], common)] for k, order in zip(keys, orders)]


def pooled_animals(animals: dict, movie: np.ndarray, label: str, embedding_decoders, mean_frame: np.ndarray, window,
                   seed: int) -> tuple[dict, dict | None]:
    """Every animal at once: each sample shown to every session at the same moment of the
    same split (:func:`aligned_samples`) reconstructed from all animals together, beside the
    same methods on each animal alone (the mean over animals on the same samples).

    * The embedding methods read the animals' embeddings averaged in the shared space
      (rescaled to the members' mean norm); the HalfUNet and the embedding ridge are the
      single-animal decoders (``embedding_decoders``: the HalfUNet and ``x -> images``), not
      refitted.
    * The baselines read the pseudo-population: ridge from the animals' dF/F concatenated
      (fitted on the aligned train samples), retrieval by the frame whose per-animal
      template correlations have the best mean (each animal one equal vote), the same blends
      with weights chosen on the pooled valid samples.

    Returns:
        ``(metrics, images)``: ``{method: test SSIM with interval, ...}``, ``"alone"`` (each
        method's mean SSIM per animal on the same test samples), ``"valid"``, ``comparison``
        (each model minus each baseline, paired), ``strongest_baseline``, ``best_model``,
        ``blend_weights``, ``n_sessions``, ``n_test_frames``; the test images (``target``,
        ``frames``, ``session``, ``index`` and one per method). ``({"skipped": why}, None)``
        when no sample is shared.
    """
    fs = animals["fit"]["splits"]
    decoder, ridge_embedding = embedding_decoders

    def matched(source, split, rows):
        parts = source["splits"][split]
        pos = aligned_samples([p.label(label)[r] for p, r in zip(parts, rows)])
        return parts, [r[q] for r, q in zip(rows, pos)], pos

    def offsets(rows):
        return np.r_[0, np.cumsum([len(r) for r in rows])][:-1]

    tr_parts, tr_rows, _ = matched(animals["fit"], "train", animals["train_rows"])
    if not len(tr_rows[0]):
        return {"skipped": "no train sample is shown to every session at the same moment"}, None
    f_pool_tr = tr_parts[0].label(label)[tr_rows[0]]
    ridge_dff = ridge_images(np.hstack([p.neural[r] for p, r in zip(tr_parts, tr_rows)]), movie[f_pool_tr][:, None])
    templates = [animals["templates"](i) for i in range(len(fs["train"]))]
    frames = templates[0].frames
    for t in templates[1:]:
        frames = np.intersect1d(frames, t.frames)
    out, weights, test, valid, margins = {}, {}, {}, {}, {}
    for split in ("valid", "test"):
        parts, rows, pos = matched(animals["evaluate"], split, animals["eval_rows"][split])
        if not len(rows[0]):
            if split == "test":
                return {"skipped": "no test sample is shown to every session at the same moment"}, None
            continue
        f_ev = parts[0].label(label)[rows[0]]
        target = movie[f_ev][:, None]
        emb = [animals["evaluate"]["emb"][p.session_id][split][r] for p, r in zip(parts, rows)]
        mean_emb = np.mean(emb, axis=0)
        norm = np.mean([np.linalg.norm(e, axis=1) for e in emb], axis=0)
        mean_emb = (mean_emb * (norm / np.maximum(np.linalg.norm(mean_emb, axis=1), 1e-12))[:, None]).astype(
            np.float32)
        votes = sum(unit_rows(window_features(p.neural, p.segment, *window)[r])
                    @ t.templates[np.searchsorted(t.frames, frames)].T for p, r, t in zip(parts, rows, templates))
        pred = {"halfunet": decoder.predict(mean_emb), "ridge_embedding": ridge_embedding(mean_emb),
                "ridge_dff": ridge_dff(np.hstack([p.neural[r] for p, r in zip(parts, rows)])),
                "retrieval": movie[frames[np.argmax(votes, axis=1)]][:, None],
                "mean_frame": np.broadcast_to(mean_frame[None, None], target.shape)}
        add_blends(pred, target, weights, choose=split == "valid")
        ssim = {m: image_metrics(pred[m], target, data_range=1.0)["per_frame"]["ssim"] for m in METHODS}
        blocks = blocks_of(np.zeros(len(f_ev)), parts[0].index[rows[0]], max(int(round(parts[0].sampling_rate)), 1))
        boot = block_bootstrap(ssim, blocks, seed=seed, pairs=PAIRS)
        entry = {m: boot[m].entry("ssim") for m in METHODS}
        if split == "valid":
            valid = entry
            continue
        test = entry
        margins = {f"{m} - {b}": boot[f"{m} - {b}"] for m, b in PAIRS}
        start = offsets(animals["eval_rows"]["test"])
        out["alone"] = {m: float(np.mean([animals["alone"]["test"][m][o + q] for o, q in zip(start, pos)]))
                        for m in METHODS}
        out["n_test_frames"] = int(len(f_ev))
        images = {"target": target, "frames": f_ev, "session": np.full(len(f_ev), "every animal"),
                  "index": parts[0].index[rows[0]], **pred}
    out["blend_weights"] = {m: weights.get(m, 0.0) for m in BLENDS}
    out.update({"n_sessions": len(fs["train"]), "protocol": "each test sample shown to every session at the same "
                "moment, read from all animals at once: embeddings averaged in the shared space (single-animal "
                "HalfUNet and ridge), dF/F concatenated (ridge) or one vote per animal (retrieval)"})
    return _ranked(test, valid, margins, out, "test (no valid sample shown to every session)"), images


def fold_block(fold: int, folds: int, n_frames: int) -> tuple[int, int]:
    """Frames ``[lo, hi)`` of fold ``fold`` when ``n_frames`` are cut into ``folds`` blocks."""
    edges = np.linspace(0, n_frames, folds + 1).round().astype(int)
    return int(edges[fold]), int(edges[fold + 1])


def holdout_splits(splits: dict, label: str, lo: int, hi: int) -> dict:
    """Train and valid splits without the samples showing frames ``[lo, hi)`` (segments are
    recomputed, so no encoder window bridges a removed stretch); test unchanged."""
    def outside(part):
        f = part.label(label)
        return keep_rows(part, ~((f >= lo) & (f < hi)))

    return {"train": [outside(p) for p in splits["train"]], "valid": [outside(p) for p in splits["valid"]],
            "test": list(splits["test"])}


def novel_frames_protocol(splits: dict, movie: np.ndarray, label: str, cfg: Config, *, window=(5, 5), say=None,
                          progress: bool = False, log_dir=None, name: str = "reconstruct-novel",
                          run_blocks: int | None = None):
    """Reconstruction of frames never seen in training: for each of the first
    ``novel_frames.run_blocks`` blocks, a contiguous block of the movie is removed from every
    train and valid repeat, a CEBRA model with the run's settings is trained on the rest
    (neither the embedding nor any decoder sees those images or the responses to them), and
    the block is reconstructed from the test repeat (scored) and the valid repeat (used only
    to name the strongest baseline).

    Args:
        splits: ``{split: [SplitData per session]}``.
        movie: ``(K, H, W)`` template frames in [0, 1].
        label: The movie's frame label.
        cfg: The run's settings.
        window: The encoder's receptive field.
        say, progress, log_dir, name: As :func:`reconstruction_protocol`; ``log_dir(what)``
            gives a TensorBoard folder per fold model (or None).
        run_blocks: How many blocks to run (default ``novel_frames.run_blocks``); with more
            than two, the result gains ``cv``: every block's numbers and their mean with an
            interval over blocks.

    Returns:
        ``(metrics, images)``: pooled metrics over the folds (each method with intervals,
        the strongest baseline, the HalfUNet's margin), per-fold results, the leak check and,
        with two sessions or more, ``pooled`` (every animal at once over the blocks,
        :func:`every_animal_folds`); the test images (``["pooled"]``: every animal at
        once's). ``({"skipped": why}, None)`` when a fold leaves no training sample.
    """
    nf = cfg.novel_frames
    say = say or (lambda text: None)
    log_dir = log_dir or (lambda what: None)
    # the blocks cut the frames shown (the whole movie, unless the sessions show only its start)
    n_frames = int(max(p.label(label).max() for sp in ("train", "test") for p in splits[sp])) + 1
    folds, pooled, leak, animals = [], {}, {}, {"folds": [], "images": {}}
    n_run = min(run_blocks or nf.run_blocks, nf.blocks)
    for fold in range(n_run):
        lo, hi = fold_block(fold, nf.blocks, n_frames)
        held = holdout_splits(splits, label, lo, hi)
        left = sum(int((p.label(label) >= 0).sum()) for p in held["train"])
        if not left or not any(((p.label(label) >= lo) & (p.label(label) < hi)).any() for p in splits["test"]):
            return {"skipped": f"{movie_of(label)} frames {lo}-{hi - 1}: no train samples outside the block, or "
                               "none inside it in the test split"}, None
        say(f"{name}: {movie_of(label)} fold {fold}: frames {lo}-{hi - 1} removed from every train and valid "
            "repeat; training the embedding without them")
        model = CEBRA.from_config(cfg, verbose=progress, log_dir=log_dir(f"cebra_novel_fold{fold}"))
        model.fit(training_rows(held["train"], cfg.dataset.train_on),
                  valid=training_rows(held["valid"], cfg.dataset.train_on))
        seen = {"embedding_train": np.concatenate([p.label(label) for p in held["train"]]),
                "embedding_valid": np.concatenate([p.label(label) for p in held["valid"]])}
        fit = {"splits": held, "emb": {p.session_id: {sp: model.transform(held[sp][i], session_id=i)
                                                       for sp in ("train", "valid")}
                                        for i, p in enumerate(held["train"])}}
        evaluate = {"splits": splits, "emb": {p.session_id: {sp: model.transform(splits[sp][i], session_id=i)
                                                             for sp in ("valid", "test")}
                                              for i, p in enumerate(splits["train"])}}
        in_block = lambda f, lo=lo, hi=hi: (f >= lo) & (f < hi)  # noqa: E731
        res, images, _, decoder_inputs = reconstruction_protocol(
            fit, evaluate, movie, label, cfg, eval_rows=in_block, window=window, say=say, progress=progress,
            log_dir=log_dir(f"halfunet_{name}"), name=name)
        at_once = images.pop("pooled", None)
        if at_once is not None:
            at = res.details["pooled"]
            animals["folds"].append({"fold": fold, "valid": dict(at.valid), **{
                k: at.details[k] for k in ("blend_weights", "alone", "n_test_frames", "n_sessions")}})
            for k, v in at_once.items():
                animals["images"].setdefault(k, []).append(v)
        seen.update(decoder_inputs)
        leak[f"fold {fold}"] = {k: int(np.sum((v >= lo) & (v < hi))) for k, v in seen.items()}
        numbers = res.to_json()
        folds.append({"fold": fold, "frames": [lo, hi], "embedding_steps": model.state_.step,
                      **{m: numbers[m] for m in METHODS}, COMPARISON: numbers[COMPARISON], VALID: numbers[VALID],
                      "blend_weights": numbers["blend_weights"]})
        for k, v in images.items():
            pooled.setdefault(k, []).append(v)
    images = {k: np.concatenate(v) for k, v in pooled.items()}
    res = pooled_metrics(images, cfg.training.seed, folds)
    out = {}
    if animals["folds"]:
        out["pooled"] = every_animal_folds(animals, cfg.training.seed)
        images["pooled"] = {k: np.concatenate(v) for k, v in animals["images"].items()}
    out.update({"folds": folds, "n_folds": nf.blocks, "frames_removed_from_training": leak,
                "protocol": "held-out frames: blocks removed from every train/valid repeat for the embedding "
                            "and every decoder; scored on the test repeat",
                "label": label, "output_shape": list(cfg.reconstruction.output_shape)})
    if len(folds) >= 3:  # "cv": the HalfUNet's (as before); "cv_<model>" for the other models
        for m in MODELS:
            out["cv" if m == "halfunet" else f"cv_{m}"] = summarize(fold_entries(folds, m), len(folds), model=m,
                                                                    test_fraction=1.0 / nf.blocks, metric="ssim")
    return res.replace(**out), images


def every_animal_folds(animals: dict, seed: int) -> dict:
    """Every animal at once over the held-out blocks: :func:`pooled_metrics` on every
    block's pooled test images, each animal alone averaged over blocks (weighted by frames)."""
    folds = animals["folds"]
    res = pooled_metrics({k: np.concatenate(v) for k, v in animals["images"].items()}, seed, folds)
    n = [f["n_test_frames"] for f in folds]
    return res.replace(alone={m: float(np.average([f["alone"][m] for f in folds], weights=n)) for m in METHODS},
                       n_sessions=folds[0]["n_sessions"],
                       protocol="every held-out block's test samples shown to every session at the same moment, "
                                "read from all animals at once (as reconstruction.pooled)")


def fold_entries(folds: list[dict], model: str = "halfunet") -> list[dict]:
    """Each block's SSIM of ``model`` and the baselines, the strongest baseline chosen on
    that block's validation frames, and the margin (:func:`neurocine.evaluate.folds.summarize`'s
    input)."""
    out = []
    for f in folds:
        rank = f.get("valid") or {b: f[b] for b in BASELINES}
        strongest = max(BASELINES, key=lambda b: rank[b]["ssim"])
        out.append({"fold": f["fold"], "frames": f["frames"], model: f[model]["ssim"],
                    "baselines": {b: f[b]["ssim"] for b in BASELINES}, STRONGEST: strongest,
                    "baseline": f[strongest]["ssim"], "margin": f[model]["ssim"] - f[strongest]["ssim"]})
    return out


def pooled_metrics(images: dict, seed: int, folds: list[dict]) -> Comparison:
    """Metrics over every fold's test frames (1-s blocks per session); the strongest baseline
    and the best model chosen on the folds' valid SSIM (their mean)."""
    target = images["target"]
    scores = {m: image_metrics(images[m], target, data_range=1.0)["per_frame"] for m in METHODS}
    blocks = blocks_of(images["session"], images["index"], 30)
    test, margins = {}, {}
    for k in ("ssim", "psnr", "pixel_r"):
        boot = block_bootstrap({m: scores[m][k] for m in METHODS}, blocks, seed=seed,
                               pairs=PAIRS if k == "ssim" else ())
        for m in METHODS:
            test.setdefault(m, {})[k] = boot[m].value
            test[m][f"{k}_ci95"] = list(boot[m].ci95)
        if k == "ssim":
            margins = {f"{m} - {b}": boot[f"{m} - {b}"] for m, b in PAIRS}
    valid = [f[VALID] for f in folds if f.get(VALID)]
    ranking = {b: np.mean([v[b]["ssim"] for v in valid]) for b in METHODS} if valid else \
        {b: test[b]["ssim"] for b in METHODS}
    details = {"best_model": max(MODELS, key=ranking.get),
               "blend_weights": {f"fold {f['fold']}": f["blend_weights"] for f in folds},
               "strongest_baseline_chosen_on": "valid repeat's held-out block" if valid else "test",
               "n_test_frames": int(len(target))}
    return Comparison("ssim", MODELS, BASELINES, test, None, margins, max(BASELINES, key=ranking.get), details)


__all__ = ["reconstruction_protocol", "novel_frames_protocol", "pooled_animals", "every_animal_folds",
           "aligned_samples", "occurrence", "fold_block", "holdout_splits", "pooled_metrics",
           "blend_weight", "add_blends", "METHODS", "MODELS", "BASELINES", "BLENDS", "PAIRS"]
