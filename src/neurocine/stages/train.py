"""Stage ``train``: fit CEBRA on the train split (early stopping on valid) and embed every
split of every session.

Writes ``config.yaml``, ``model.pt``, ``checkpoint.pt``, ``embeddings.h5``, the loss curve
and the embedding figure; metrics: steps, losses, wall time, learning mode, which labels
supervised the model, whether sessions share one space, the encoder's receptive field.
With ``training.label_free_model`` (and a supervised main model) it also trains a
time-contrastive model with the same settings (``model_label_free.pt``,
``embeddings_label_free.h5``), so users see what the labels add.

Under torchrun every rank runs it: each reads only its shard of the sessions' dF/F,
training is collective, each rank embeds its own sessions, and rank 0 alone writes.
"""

from __future__ import annotations

import contextlib
import itertools
import time

import torch.distributed as dist

from neurocine import provenance
from neurocine.data import find_session_files, sharded_splits, training_rows
from neurocine.embed import CEBRA
from neurocine.embed.estimator import embed_parts, fit_inputs
from neurocine.embed.distributed import current
from neurocine.io import detect_layout
from neurocine.report.figures import plot_embedding, plot_loss_curves
from neurocine.embed.models import MultiSessionEncoder, session_smoothing
from neurocine.results import CHECKPOINT, EMBEDDINGS, MODEL, Results, embedding_record
from neurocine.torchio import check_state, load_checkpoint
from neurocine.stages.base import Stage, StageContext, register_stage, say


def check_checkpoints(results: Results, cfg, num_neurons: list[int], modalities: list[str]) -> None:
    """Before ``--resume`` rewrites anything: the folder's checkpoints hold the encoder this
    run's settings and sessions build (each weight's name and shape), so a checkpoint of
    another ``model.output_dimension``, architecture or neuron count is refused in one line
    naming it, instead of a size-mismatch traceback after config.yaml was rewritten.
    ``modalities``: each session's signal (its input smoothing wraps the encoder, which
    names its weights)."""
    m = cfg.model
    if cfg.dataset.mode == "pad":
        neurons, modalities = [max(num_neurons)], ["spikes" if all(s == "spikes" for s in modalities) else "dff"]
    else:
        neurons = list(num_neurons)
    encoder = MultiSessionEncoder(m.model_architecture, neurons, m.num_hidden_units, m.output_dimension,
                                  m.input_normalization, [session_smoothing(m.input_smoothing, s) for s in modalities])
    for name in (CHECKPOINT, "checkpoint_label_free.pt"):
        path = results.path(name)
        if path.exists():
            blob = load_checkpoint(path)
            check_state(encoder, blob.get("model") if isinstance(blob, dict) else None, path, "encoder",
                        remedy="the checkpoint was made with other settings or sessions than this run's "
                               "(model.output_dimension, model.model_architecture, model.num_hidden_units, the "
                               "neuron counts); resume with those, or train anew with --force")


def _attrs(model) -> dict:
    return {"output_dimension": model.output_dimension, "learning_mode": model.learning_mode_,
            "supervision": model.supervision_}


def write_embeddings(results: Results, model, mode: str, splits: dict, name: str = EMBEDDINGS) -> None:
    """embeddings.h5 of every split of every session (one process)."""
    def records():
        yield "attrs", _attrs(model)
        for split, parts in splits.items():
            for p, e in zip(parts, embed_parts(model, mode, parts)):
                yield split, embedding_record(e, p)

    results.write_embeddings(records(), name)


def write_embeddings_sharded(results: Results, model, splits: dict, name: str = EMBEDDINGS) -> None:
    """embeddings.h5 under torchrun: each rank embeds the sessions it owns; rank 0 gathers
    them a round at a time (one session per rank per round) and writes them, so no rank
    holds every session's embeddings. Every rank must call this."""
    rank, world = current()
    owner = model.session_owner_
    mine = [j for j, r in enumerate(owner) if r == rank]
    rounds = max(owner.count(r) for r in range(world))

    def gathered():
        for k in range(rounds):
            payload = None
            if k < len(mine):
                j = mine[k]
                payload = [(split, embedding_record(model.transform(parts[j], session_id=j), parts[j]))
                           for split, parts in splits.items()]
            got = [None] * world if rank == 0 else None
            dist.gather_object(payload, got, dst=0)
            for records in got or []:
                yield from records or []

    if rank == 0:
        results.write_embeddings(itertools.chain([("attrs", _attrs(model))], gathered()), name)
    else:
        for _ in gathered():
            pass


@register_stage
class Train(Stage):
    name = "train"
    key = "training"
    help = "train CEBRA embeddings (stage 1)"
    reads = ()
    reads_files = ()
    writes_files = ("model.pt", "embeddings.h5", "config.yaml")
    position = 0
    takes_config = True
    figures = (("loss_curve.png", "CEBRA training: InfoNCE on train and validation data"),
               ("embedding.png", "Test-split embeddings of stimulus samples (first three principal components), "
                                 "coloured by movie frame (or, without a movie, by trial condition)"))

    def done(self, results):
        return results.exists(MODEL, EMBEDDINGS)

    def run(self, ctx: StageContext):
        cfg, results = ctx.config, ctx.results
        rank, world = current()
        ds = cfg.dataset
        sharded = world > 1 and ds.mode == "separate"
        if sharded:
            splits, session_ids, num_neurons, modalities = sharded_splits(ds, rank, world, ctx.progress and rank == 0,
                                                                          with_modalities=True)
            files = find_session_files(ds.data_dir, ds.file_pattern, ds.max_sessions, ds.exclude)
            provenance_of = lambda: provenance.collect(  # noqa: E731
                cfg, files, session_ids, [detect_layout(f) for f in files], modalities=modalities)
        else:
            ctx.data.progress = ctx.progress and rank == 0
            splits, info = ctx.splits(), ctx.data.info()
            for path, reason in ctx.data.skipped:
                say(f"skipped {path}: {reason}")
            session_ids, num_neurons = [f.session_id for f in info], [f.num_neurons for f in info]
            modalities = [f.modality for f in info]
            provenance_of = lambda: provenance.collect(  # noqa: E731 - what reading the files recorded
                cfg, [f.path for f in info], session_ids, [f.layout for f in info], [f.sha256 for f in info],
                [f.simulation for f in info], [f.modality for f in info], [f.metadata for f in info])
        if ctx.resume:
            check_checkpoints(results, cfg, num_neurons, modalities)
        # the inputs are good: now write (a failed first run leaves no half-made folder behind: Results.lock)
        with results.lock() if rank == 0 else contextlib.nullcontext():
            if rank == 0:
                results.save_config(cfg)
                results.update("provenance", provenance_of())
            return self._train(ctx, cfg, results, splits, session_ids, num_neurons, sharded, rank, world)

    def _train(self, ctx, cfg, results, splits, session_ids, num_neurons, sharded, rank, world):
        ds = cfg.dataset
        signal = results.get("provenance", {}).get("signal", "dF/F") if rank == 0 else "dF/F"
        cells = "neurons" if signal == "dF/F" else "units"
        say(f"train: {len(session_ids)} sessions ({', '.join(str(n) for n in num_neurons)} {cells}; {signal}), "
            f"{cfg.model.learning_mode} mode on {ds.train_on} samples, {cfg.model.model_architecture}, "
            f"batch {cfg.model.batch_size}, "
            f"up to {cfg.model.max_iterations} steps, device {cfg.model.device}"
            + (f", {world} processes" if world > 1 else ""))

        def fit(suffix: str = "", **params):
            model = CEBRA.from_config(cfg, checkpoint_path=str(results.path(f"checkpoint{suffix}.pt")),
                                      log_dir=ctx.log_dir(f"cebra{suffix}"),
                                      verbose=ctx.progress and rank == 0).set_params(**params)
            t0 = time.perf_counter()
            model.fit(fit_inputs(ds.mode, training_rows(splits["train"], ds.train_on)),
                      valid=fit_inputs(ds.mode, training_rows(splits["valid"], ds.train_on)), resume=ctx.resume)
            seconds = time.perf_counter() - t0
            name = f"embeddings{suffix}.h5"
            if sharded:
                write_embeddings_sharded(results, model, splits, name)
            elif rank == 0:
                write_embeddings(results, model, ds.mode, splits, name)
            if rank == 0:
                model.save(results.path(f"model{suffix}.pt"))
            return model, seconds

        model, seconds = fit()
        label_free = None
        if cfg.training.label_free_model and model.supervision_ != "none":
            say("train: and a label-free (time-contrastive) model with the same settings, for comparison")
            label_free, lf_seconds = fit("_label_free", learning_mode="time_contrastive", hybrid=False)
        if rank != 0:
            return None
        st = model.state_
        plot_loss_curves(st.history, st.valid_history, results.figure("loss_curve.png"))
        plot_embedding(results.read_embeddings(), results.figure("embedding.png"))
        metrics = {"steps": st.step, "best_step": st.best_step, "best_valid_loss": st.best_valid,
                   "final_train_loss": st.history[-1]["loss"] if st.history else None,
                   "stopped_early": st.stopped_early, "seconds": seconds, "trained_on": ds.train_on,
                   "steps_per_second": st.step / max(st.seconds, 1e-9), "learning_mode": model.learning_mode_,
                   "supervision": model.supervision_, "aligned": model.aligned_, "dataset_mode": ds.mode,
                   "receptive_field": [model.model_.left, model.model_.right], "device": str(model.device_),
                   "input_smoothing": model.input_smoothing_by_session(session_ids),
                   "processes": world, "sessions": session_ids, "num_neurons": num_neurons,
                   "positives": model.positives_}
        if label_free is not None:
            ls = label_free.state_
            metrics["label_free"] = {"steps": ls.step, "best_step": ls.best_step, "best_valid_loss": ls.best_valid,
                                     "seconds": lf_seconds, "learning_mode": label_free.learning_mode_,
                                     "supervision": label_free.supervision_}
        return metrics

    def summary(self, m):
        pos = m.get("positives") or {}
        share = (f"; positives by label for {100 * (1 - pos['unlabelled_fraction']):.0f} % of references, "
                 f"{100 * pos['fallback_fraction']:.1f} % of those fell back to time contrast"
                 if pos.get("fallback_fraction") is not None else "")
        return (f"{m['steps']} steps in {m['seconds']:.0f} s, best valid InfoNCE {m['best_valid_loss']:.4f} at step "
                f"{m['best_step']}" + (" (early stop)" if m.get("stopped_early") else "") + share)
