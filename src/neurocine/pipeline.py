"""The main job as stages over one results folder:

``train`` (embeddings) -> ``decode-frames`` (frame ID) -> ``reconstruct`` (HalfUNet) ->
``report``. Each stage reads the previous stages' outputs from the folder, and re-running
a finished stage reuses its outputs unless ``force=True``. Every file is written
atomically.

Results folder::

    config.yaml        the resolved config
    model.pt           the CEBRA model (neurocine.CEBRA.load)
    checkpoint.pt      training checkpoint (for --resume)
    embeddings.h5      /<session_id>/<split>/{embedding, timestamps, index, movie_frame, ...}
    metrics.json       training, frame_id, reconstruction (each with baselines and chance)
    figures/*.png      loss curves, embedding, frame-ID error, reconstructions
    report.html        one self-contained page
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import h5py
import numpy as np

from neurocine.atomic import atomic_path
from neurocine.config import Config
from neurocine.data import SplitData, find_session_files, load_sessions, normalized_splits, pad_splits
from neurocine.errors import DataError

SPLIT_NAMES = ("train", "valid", "test")


# --------------------------------------------------------------------------- helpers
def write_json_atomic(path: Path, data) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=float))


def read_metrics(out: Path) -> dict:
    p = out / "metrics.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(p, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None


def update_metrics(out: Path, key: str, value) -> dict:
    metrics = read_metrics(out)
    metrics[key] = value
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def results_config(out: Path) -> Config:
    p = out / "config.yaml"
    if not p.exists():
        raise DataError(out, "no config.yaml: run 'neurocine train' into this folder first")
    return Config.load(p)


def require_file(out: Path, name: str, stage: str) -> Path:
    p = out / name
    if not p.exists():
        raise DataError(out, f"missing {name}: run 'neurocine {stage}' first")
    return p


def say(msg: str) -> None:
    """Print a progress line (on rank 0 only, under torchrun)."""
    from neurocine.embed.distributed import current

    if current()[0] == 0:
        print(msg, flush=True)


def prepared_sessions(cfg: Config, progress: bool = True):
    """Load and normalise the sessions named by ``cfg.dataset``; returns
    ``(sessions, {split: [SplitData per session]})`` (under torchrun, training uses
    :func:`sharded_splits` instead)."""
    ds = cfg.dataset
    ds.validate()
    sessions = load_sessions(ds.data_dir, ds.file_pattern, ds.max_sessions, ds.skip_bad, progress=progress)
    for path, reason in sessions.skipped:
        say(f"skipped {path}: {reason}")
    if ds.mode == "first_only":
        sessions = sessions[:1]
    splits = {s: normalized_splits(sessions, s, ds.normalize, ds.normalize_time) for s in SPLIT_NAMES}
    return sessions, splits


def fit_inputs(cfg: Config, parts: list[SplitData]):
    """What the estimator trains on: per-session parts, or one padded part."""
    return [pad_splits(parts)] if cfg.dataset.mode == "pad" else parts


def embed_parts(model, cfg: Config, parts: list[SplitData]) -> list[np.ndarray]:
    """Per-session embeddings of ``parts`` (``pad`` mode: through the one padded encoder)."""
    if cfg.dataset.mode == "pad":
        padded = pad_splits(parts)
        emb = model.transform(padded, session_id=0)
        return [emb[padded.session_index == i] for i in range(len(parts))]
    return [model.transform(p, session_id=i) for i, p in enumerate(parts)]


def build_estimator(cfg: Config, out: Path, progress: bool):
    from neurocine.embed import CEBRA

    m, t = cfg.model, cfg.training
    return CEBRA(model_architecture=m.model_architecture, device=m.device, distance=m.distance,
                 conditional=m.conditional, temperature=m.temperature, temperature_mode=m.temperature_mode,
                 min_temperature=m.min_temperature, time_offsets=m.time_offsets, max_iterations=m.max_iterations,
                 batch_size=m.batch_size, learning_rate=m.learning_rate, output_dimension=m.output_dimension,
                 num_hidden_units=m.num_hidden_units, learning_mode=m.learning_mode,
                 validate_every=t.validate_every,
                 patience=t.early_stopping.patience if t.early_stopping.enabled else None,
                 min_delta=t.early_stopping.min_delta, checkpoint_every=t.checkpoint_every,
                 checkpoint_path=str(out / "checkpoint.pt"), mixed_precision=m.mixed_precision, compile=m.compile,
                 seed=t.seed, verbose=progress, stimulus_jitter=m.stimulus_jitter)


class _MovieFrameLabels:
    """Per-session continuous labels (the movie frame, -1 outside the movie), read from the
    parts on access (lazy like the parts themselves)."""

    def __init__(self, parts):
        self.parts = parts

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.parts[i].movie_frame.astype(np.float64)


def behavior_labels(cfg: Config, parts):
    if cfg.model.learning_mode not in ("behavior", "hybrid") or cfg.dataset.mode == "pad":
        return None
    return _MovieFrameLabels(parts)


# ------------------------------------------------------------------------------ train
def stage_train(cfg: Config, out: Path, force: bool = False, resume: bool = False, progress: bool = True) -> dict:
    """Train the CEBRA model and write model.pt, embeddings.h5, training metrics, figures.

    Under torchrun (an initialised process group) every rank runs this: each reads only its
    shard of the sessions' dF/F, training is collective, each rank embeds its own sessions,
    and rank 0 alone writes the results folder."""
    from neurocine.embed.distributed import current

    out = Path(out)
    rank, world = current()
    if (out / "model.pt").exists() and (out / "embeddings.h5").exists() and not force and not resume:
        say(f"train: reusing {out / 'model.pt'} (use --force to retrain)")
        return read_metrics(out).get("training", {})
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out / "config.yaml")
    sharded = world > 1 and cfg.dataset.mode == "separate"
    if sharded:
        splits, session_ids, num_neurons, n_train = sharded_splits(cfg, rank, world, progress and rank == 0)
    else:
        sessions, splits = prepared_sessions(cfg, progress and rank == 0)
        session_ids, num_neurons = [s.session_id for s in sessions], [s.num_neurons for s in sessions]
        n_train = sum(len(p) for p in splits["train"])
        del sessions  # the raw traces: training needs only the normalised splits
    n_batches = max(1, n_train // max(cfg.model.batch_size, 1))
    steps = min(cfg.model.max_iterations, cfg.training.max_epochs * n_batches)
    cfg.model.max_iterations = steps
    model = build_estimator(cfg, out, progress and rank == 0)
    say(f"train: {len(session_ids)} sessions ({', '.join(str(n) for n in num_neurons)} neurons), "
        f"{cfg.model.learning_mode}, {cfg.model.model_architecture}, batch {cfg.model.batch_size}, {steps} steps, "
        f"device {cfg.model.device}" + (f", {world} processes" if world > 1 else ""))
    t0 = time.perf_counter()
    model.fit(fit_inputs(cfg, splits["train"]), behavior_labels(cfg, splits["train"]),
              valid=fit_inputs(cfg, splits["valid"]), valid_y=behavior_labels(cfg, splits["valid"]), resume=resume)
    seconds = time.perf_counter() - t0
    if sharded:
        write_embeddings_sharded(out / "embeddings.h5", model, splits)
    elif rank == 0:
        write_embeddings(out / "embeddings.h5", model, cfg, splits)
    if rank != 0:
        return {}
    model.save(out / "model.pt")
    st = model.state_
    metrics = {"steps": st.step, "best_step": st.best_step, "best_valid_loss": st.best_valid,
               "final_train_loss": st.history[-1]["loss"] if st.history else None,
               "stopped_early": st.stopped_early, "seconds": seconds,
               "steps_per_second": st.step / max(st.seconds, 1e-9), "learning_mode": model.learning_mode_,
               "device": str(model.device_), "processes": world, "sessions": session_ids,
               "num_neurons": num_neurons}
    update_metrics(out, "training", metrics)
    from neurocine.report.figures import plot_embedding, plot_loss_curves

    plot_loss_curves(st.history, st.valid_history, out / "figures" / "loss_curve.png")
    plot_embedding(out / "embeddings.h5", out / "figures" / "embedding.png")
    say(f"train: {st.step} steps in {seconds:.0f} s, best valid InfoNCE {st.best_valid:.4f} at step {st.best_step}"
        + (" (early stop)" if st.stopped_early else ""))
    return metrics


def sharded_splits(cfg: Config, rank: int, world: int, progress: bool = False):
    """This rank's view of the sessions under torchrun: the dF/F of files ``rank, rank +
    world, ...`` read and normalised; every other session read (labels only) when needed
    and not kept (:class:`~neurocine.data.LazySplits`).

    Returns ``({split: LazySplits}, session_ids, num_neurons, train_samples)``."""
    from tqdm.auto import tqdm

    from neurocine.data import LazySplits
    from neurocine.embed.distributed import shard
    from neurocine.io.detect import read_session

    ds = cfg.dataset
    ds.validate()
    if ds.skip_bad:
        raise DataError(ds.data_dir, "dataset.skip_bad is not supported under torchrun (a bad file is found only "
                                     "by the rank that reads its dF/F); run 'neurocine check' and remove bad files")
    files = find_session_files(ds.data_dir, ds.file_pattern, ds.max_sessions)
    mine = set(shard(len(files), world, rank))
    held = {split: {} for split in SPLIT_NAMES}
    session_ids, num_neurons, n_train = [], [], 0
    for i, path in enumerate(tqdm(files, desc="load", unit="session", disable=not progress)):
        session = read_session(path, traces=i in mine)
        session_ids.append(session.session_id)
        num_neurons.append(session.num_neurons)
        n_train += int(session.train_mask.sum())
        if i in mine:
            for split in SPLIT_NAMES:
                part = normalized_splits([session], split, ds.normalize, ds.normalize_time)[0]
                part.session_index[:] = i
                held[split][i] = part
        del session
    return ({split: LazySplits(files, split, held[split], ds.normalize_time) for split in SPLIT_NAMES},
            session_ids, num_neurons, n_train)


def _embedding_record(embedding: np.ndarray, part: SplitData) -> dict:
    return {"session_id": part.session_id, "embedding": embedding.astype(np.float32), "timestamps": part.time,
            "index": part.index, "movie_frame": part.movie_frame, "movie_repeat": part.movie_repeat,
            "grating_orientation": part.grating_orientation,
            "grating_temporal_frequency": part.grating_temporal_frequency}


def _write_record(f, split: str, record: dict) -> None:
    g = f.require_group(record["session_id"]).create_group(split)
    for key, value in record.items():
        if key != "session_id":
            g.create_dataset(key, data=value)


def write_embeddings(path: Path, model, cfg: Config, splits: dict) -> None:
    """embeddings.h5: per session and split, the embedding with timestamps and labels
    (``/<session_id>/<split>/{embedding, timestamps, index, movie_frame, ...}``)."""
    from neurocine.io.recording import atomic_h5

    with atomic_h5(path, overwrite=True) as f:
        f.attrs["output_dimension"] = model.output_dimension
        f.attrs["learning_mode"] = model.learning_mode_
        for split, parts in splits.items():
            for p, e in zip(parts, embed_parts(model, cfg, parts)):
                _write_record(f, split, _embedding_record(e, p))


def write_embeddings_sharded(path: Path, model, splits: dict) -> None:
    """embeddings.h5 under torchrun: each rank embeds the sessions it owns; rank 0 gathers
    them a round at a time (one session per rank per round) and writes them, so no rank
    holds every session's embeddings. Every rank must call this."""
    import torch.distributed as dist

    from neurocine.embed.distributed import current
    from neurocine.io.recording import atomic_h5

    rank, world = current()
    owner = model.session_owner_
    mine = [j for j, r in enumerate(owner) if r == rank]
    rounds = max(owner.count(r) for r in range(world))
    with atomic_h5(path, overwrite=True) if rank == 0 else contextlib.nullcontext() as f:
        if rank == 0:
            f.attrs["output_dimension"] = model.output_dimension
            f.attrs["learning_mode"] = model.learning_mode_
        for k in range(rounds):
            payload = None
            if k < len(mine):
                j = mine[k]
                payload = [(split, _embedding_record(model.transform(parts[j], session_id=j), parts[j]))
                           for split, parts in splits.items()]
            gathered = [None] * world if rank == 0 else None
            dist.gather_object(payload, gathered, dst=0)
            if rank == 0:
                for records in gathered:
                    for split, record in records or []:
                        _write_record(f, split, record)


def read_embeddings(path: Path) -> dict:
    """``{session_id: {split: {"embedding", "movie_frame", ...}}}`` from embeddings.h5."""
    out = {}
    with h5py.File(path, "r") as f:
        for sid in f:
            out[sid] = {split: {k: f[sid][split][k][()] for k in f[sid][split]} for split in f[sid]}
    return out


# ---------------------------------------------------------------------- decode frames
def stage_decode_frames(out: Path, force: bool = False, progress: bool = True) -> dict:
    """Frame-ID kNN of embeddings vs raw dF/F, PCA and chance -> metrics.json['frame_id']."""
    from neurocine.decoders.frame_id import consistency, cross_session_frame_id, evaluate_frame_id

    out = Path(out)
    metrics = read_metrics(out)
    if "frame_id" in metrics and not force:
        say("decode-frames: reusing frame_id in metrics.json (use --force to recompute)")
        return metrics["frame_id"]
    emb_path = require_file(out, "embeddings.h5", "train")
    cfg = results_config(out)
    _, splits = prepared_sessions(cfg, progress=False)
    emb = read_embeddings(emb_path)

    def pack(split):
        return {p.session_id: {"embedding": emb[p.session_id][split]["embedding"], "neural": p.neural,
                               "frame": p.movie_frame} for p in splits[split] if p.session_id in emb}

    train, test = pack("train"), pack("test")
    dim = int(next(iter(train.values()))["embedding"].shape[1])
    res = evaluate_frame_id(train, test, dim, cfg.decoding.n_neighbors, cfg.decoding.tolerance_frames)
    predictions = res.pop("predictions")
    if len(train) > 1 and cfg.dataset.mode == "separate" and cfg.model.learning_mode != "time_contrastive":
        res["cross_session"] = cross_session_frame_id(train, test, cfg.decoding.n_neighbors,
                                                      cfg.decoding.tolerance_frames)
        res["consistency"] = consistency(train)
    update_metrics(out, "frame_id", res)
    save = {f"{sid}/{k}": v for sid, d in predictions.items() for k, v in d.items()}
    _save_npz(out / "frame_id_predictions.npz", save)
    from neurocine.report.figures import plot_frame_errors

    plot_frame_errors(predictions, out / "figures" / "frame_id_error.png")
    c, r = res["cebra"], res["raw_knn"]
    say(f"decode-frames: accuracy within 1 s: CEBRA {c['accuracy_1s']:.3f}, raw dF/F kNN {r['accuracy_1s']:.3f}, "
        f"PCA kNN {res['pca_knn']['accuracy_1s']:.3f}, chance {res['chance']['accuracy_1s']:.3f}")
    return res


def _save_npz(path: Path, arrays: dict) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


# ------------------------------------------------------------------------ reconstruct
def load_movie(cfg: Config, output_shape) -> np.ndarray:
    """natural_movie_one frames resized to ``output_shape``: ``(900, H, W) float32`` in [0, 1]."""
    path = Path(cfg.dataset.movie_path) if cfg.dataset.movie_path else Path(cfg.dataset.data_dir) / "natural_movie_one.npy"
    if not path.is_file():
        raise DataError(path, "movie frames not found (expected a (900, H, W) uint8 .npy; for Allen data save "
                              "allensdk's get_stimulus_template('natural_movie_one'), or set dataset.movie_path)")
    try:
        movie = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(path, f"not a readable .npy file ({type(exc).__name__})") from None
    if movie.ndim != 3:
        raise DataError(path, f"movie has shape {movie.shape}, expected (frames, H, W)")
    scale = 255.0 if movie.dtype == np.uint8 or movie.max() > 1.5 else 1.0
    frames = movie.astype(np.float32) / scale
    if tuple(frames.shape[1:]) != tuple(output_shape):
        import torch
        import torch.nn.functional as F

        frames = F.interpolate(torch.from_numpy(frames)[:, None], size=tuple(output_shape), mode="area")[:, 0].numpy()
    return frames


def stage_reconstruct(out: Path, force: bool = False, progress: bool = True) -> dict:
    """HalfUNet from embeddings to movie frames (trained on train-split movie samples,
    early-stopped on valid, scored on test) beside ridge from embeddings and from dF/F."""
    from neurocine.decoders import halfunet_decoding, image_metrics, plot_reconstructions, ridge_reconstruction
    from neurocine.decoders.reconstruction import decode_images

    out = Path(out)
    metrics = read_metrics(out)
    if "reconstruction" in metrics and not force:
        say("reconstruct: reusing reconstruction in metrics.json (use --force to recompute)")
        return metrics["reconstruction"]
    emb_path = require_file(out, "embeddings.h5", "train")
    cfg = results_config(out)
    rc = cfg.reconstruction
    if not rc.enabled:
        say("reconstruct: disabled in config (reconstruction.enabled: false)")
        return {}
    shape = tuple(rc.output_shape)
    movie = load_movie(cfg, shape)
    emb = read_embeddings(emb_path)
    _, splits = prepared_sessions(cfg, progress=False)
    rng = np.random.default_rng(cfg.training.seed)

    def gather(split):
        xs, frames, sess = [], [], []
        for i, p in enumerate(splits[split]):
            if p.session_id not in emb:
                continue
            m = p.movie_frame >= 0
            xs.append(emb[p.session_id][split]["embedding"][m])
            frames.append(p.movie_frame[m])
            sess.append(np.full(int(m.sum()), i))
        return np.concatenate(xs), np.concatenate(frames), np.concatenate(sess)

    x_tr, f_tr, _ = gather("train")
    x_va, f_va, _ = gather("valid")
    x_te, f_te, s_te = gather("test")
    if rc.max_train_samples and len(x_tr) > rc.max_train_samples:
        keep = np.sort(rng.choice(len(x_tr), rc.max_train_samples, replace=False))
        x_tr_fit, f_tr_fit = x_tr[keep], f_tr[keep]
    else:
        x_tr_fit, f_tr_fit = x_tr, f_tr
    say(f"reconstruct: HalfUNet on {len(x_tr_fit)} train / {len(x_va)} valid / {len(x_te)} test frames at "
        f"{shape[0]}x{shape[1]}")
    tl, vl, _, decoder = halfunet_decoding(
        x_tr_fit, x_va, movie[f_tr_fit][:, None], movie[f_va][:, None], num_epochs=rc.num_epochs, lr=rc.lr,
        batch_size=rc.batch_size, device=cfg.model.device, output_shape=shape, latent_dim=rc.latent_dim,
        loss_fn=rc.loss_fn, patience=rc.patience, seed=cfg.training.seed, progress=progress, input_noise=rc.input_noise,
        gradient_checkpointing=rc.gradient_checkpointing, return_decoder=True)
    target = movie[f_te][:, None]
    pred = decode_images(decoder, x_te).numpy()
    ridge_emb = ridge_reconstruction(x_tr, movie[f_tr][:, None], x_te)
    ridge_dff = np.empty_like(ridge_emb)
    for i, p in enumerate(splits["train"]):
        te = splits["test"][i]
        m_tr, m_te = p.movie_frame >= 0, te.movie_frame >= 0
        if not m_te.any():
            continue
        ridge_dff[s_te == i] = ridge_reconstruction(p.neural[m_tr], movie[p.movie_frame[m_tr]][:, None], te.neural[m_te])
    res = {}
    for name, images in (("halfunet", pred), ("ridge_embedding", ridge_emb), ("ridge_dff", ridge_dff)):
        m = image_metrics(images, target, data_range=1.0)
        res[name] = {k: m[k] for k in ("ssim", "psnr", "pixel_r")}
    res.update({"n_test_frames": int(len(x_te)), "n_train_frames": int(len(x_tr_fit)), "output_shape": list(shape),
                "architecture": decoder.architecture, "train_loss": tl, "best_valid_loss": vl,
                "best_epoch": int(decoder.best_epoch), "loss_fn": rc.loss_fn,
                "input_noise": rc.input_noise})
    update_metrics(out, "reconstruction", res)
    from neurocine.embed.trainer import save_atomic

    save_atomic({"state_dict": decoder.state_dict(), "input_dim": decoder.input_dim, "output_shape": list(shape),
                 "latent_dim": decoder.latent_dim, "target_mean": decoder.target_mean,
                 "target_std": decoder.target_std, "loss_fn": decoder.loss_fn}, out / "halfunet.pt")
    order = np.argsort(f_te[s_te == 0], kind="stable") if (s_te == 0).any() else np.arange(len(f_te))
    sel = np.flatnonzero(s_te == 0)[order] if (s_te == 0).any() else order
    plot_reconstructions(target[sel], {"HalfUNet": pred[sel], "ridge": ridge_emb[sel]},
                         out / "figures" / "reconstructions.png", n=5,
                         title=f"test repeat, session {splits['test'][0].session_id}")
    h, r = res["halfunet"], res["ridge_embedding"]
    say(f"reconstruct: SSIM HalfUNet {h['ssim']:.3f}, ridge (embedding) {r['ssim']:.3f}, "
        f"ridge (dF/F) {res['ridge_dff']['ssim']:.3f}")
    return res


def stage_report(out: Path) -> Path:
    """report.html with every figure embedded and a table of the numbers."""
    from neurocine.report.html import write_report

    out = Path(out)
    require_file(out, "metrics.json", "train")
    path = write_report(out)
    say(f"report: {path}")
    return path


# --------------------------------------------------------------------------- run all
def run_all(cfg: Config, out: Path | None = None, force: bool = False, resume: bool = False,
            progress: bool = True, simulate_if_empty: bool = True) -> dict:
    """All stages; returns ``{stage: seconds}``."""
    out = Path(out or cfg.output_dir)
    data_dir = Path(cfg.dataset.data_dir)
    if simulate_if_empty and (not data_dir.exists() or not any(data_dir.glob(cfg.dataset.file_pattern))):
        from neurocine.embed.distributed import current

        if current()[1] > 1:
            raise DataError(data_dir, "holds no sessions; under torchrun simulate them first "
                                      "('neurocine simulate --out DIR')")
        from neurocine.io.simulate import simulate_dataset

        say(f"run: {data_dir} holds no sessions; simulating the 4 demo sessions into it first")
        simulate_dataset(data_dir, progress=progress)
    timings = {}
    stages = [("train", lambda: stage_train(cfg, out, force, resume, progress)),
              ("decode-frames", lambda: stage_decode_frames(out, force, progress)),
              ("reconstruct", lambda: stage_reconstruct(out, force, progress)),
              ("report", lambda: stage_report(out))]
    from neurocine.embed import distributed

    for name, fn in stages:
        t = time.perf_counter()
        fn()
        timings[name] = time.perf_counter() - t
        if name == "train" and distributed.current()[1] > 1:
            # the later stages are single-process: rank 0 goes on alone
            rank = distributed.current()[0]
            distributed.finish()
            if rank != 0:
                return timings
        if name != "report":
            update_metrics(out, "wall_time_s", {**read_metrics(out).get("wall_time_s", {}), name: timings[name]})
    update_metrics(out, "wall_time_s", timings)
    from neurocine.report.html import write_report

    write_report(out)  # refresh the page with the final wall times
    say("wall time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return timings


__all__ = ["stage_train", "stage_decode_frames", "stage_reconstruct", "stage_report", "run_all", "read_embeddings"]
