"""Stage ``train``: fit CEBRA on the train split (early stopping on valid) and embed every
split of every session.

Writes ``config.yaml``, ``model.pt``, ``checkpoint.pt``, ``embeddings.h5``, the loss curve
and the embedding figure; metrics: steps, losses, wall time, learning mode, which labels
supervised the model, whether sessions share one space.

Under torchrun every rank runs it: each reads only its shard of the sessions' dF/F,
training is collective, each rank embeds its own sessions, and rank 0 alone writes.
"""

from __future__ import annotations

import itertools
import html
import time

from neurocine.data import pad_splits
from neurocine.results import CHECKPOINT, EMBEDDINGS, MODEL, Results, embedding_record
from neurocine.stages import Stage, StageContext, register_stage, say


def fit_inputs(mode: str, parts):
    """What the estimator trains on: per-session parts, or one padded part."""
    return [pad_splits(parts)] if mode == "pad" else parts


def embed_parts(model, mode: str, parts) -> list:
    """Per-session embeddings of ``parts`` (``pad`` mode: through the one padded encoder)."""
    if mode == "pad":
        padded = pad_splits(parts)
        emb = model.transform(padded, session_id=0)
        return [emb[padded.session_index == i] for i in range(len(parts))]
    return [model.transform(p, session_id=i) for i, p in enumerate(parts)]


def _attrs(model) -> dict:
    return {"output_dimension": model.output_dimension, "learning_mode": model.learning_mode_,
            "supervision": model.supervision_}


def write_embeddings(results: Results, model, mode: str, splits: dict) -> None:
    """embeddings.h5 of every split of every session (one process)."""
    def records():
        yield "attrs", _attrs(model)
        for split, parts in splits.items():
            for p, e in zip(parts, embed_parts(model, mode, parts)):
                yield split, embedding_record(e, p)

    results.write_embeddings(records())


def write_embeddings_sharded(results: Results, model, splits: dict) -> None:
    """embeddings.h5 under torchrun: each rank embeds the sessions it owns; rank 0 gathers
    them a round at a time (one session per rank per round) and writes them, so no rank
    holds every session's embeddings. Every rank must call this."""
    import torch.distributed as dist

    from neurocine.embed.distributed import current

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
        results.write_embeddings(itertools.chain([("attrs", _attrs(model))], gathered()))
    else:
        for _ in gathered():
            pass


@register_stage
class Train(Stage):
    name = "train"
    key = "training"
    help = "train CEBRA embeddings (stage 1)"
    requires = ()
    takes_config = True
    figures = (("loss_curve.png", "CEBRA training: InfoNCE on train and validation data"),
               ("embedding.png", "Test-split embeddings of movie samples (first three principal components), "
                                 "coloured by movie frame"))

    def done(self, results):
        return results.exists(MODEL, EMBEDDINGS)

    def run(self, ctx: StageContext):
        from neurocine.data import sharded_splits
        from neurocine.embed import CEBRA
        from neurocine.embed.distributed import current

        cfg, results = ctx.config, ctx.results
        rank, world = current()
        if rank == 0:
            results.save_config(cfg)
        ds = cfg.dataset
        sharded = world > 1 and ds.mode == "separate"
        if sharded:
            splits, session_ids, num_neurons = sharded_splits(ds, rank, world, ctx.progress and rank == 0)
        else:
            from neurocine.data import prepare_splits

            sessions, splits = prepare_splits(ds, ctx.progress and rank == 0)
            for path, reason in sessions.skipped:
                say(f"skipped {path}: {reason}")
            session_ids, num_neurons = [s.session_id for s in sessions], [s.num_neurons for s in sessions]
            del sessions  # the raw traces: training needs only the normalised splits
        model = CEBRA.from_config(cfg, checkpoint_path=str(results.path(CHECKPOINT)),
                                  verbose=ctx.progress and rank == 0)
        say(f"train: {len(session_ids)} sessions ({', '.join(str(n) for n in num_neurons)} neurons), "
            f"{cfg.model.learning_mode} mode, {cfg.model.model_architecture}, batch {cfg.model.batch_size}, "
            f"up to {cfg.model.max_iterations} steps, device {cfg.model.device}"
            + (f", {world} processes" if world > 1 else ""))
        t0 = time.perf_counter()
        model.fit(fit_inputs(ds.mode, splits["train"]), valid=fit_inputs(ds.mode, splits["valid"]),
                  resume=ctx.resume)
        seconds = time.perf_counter() - t0
        if sharded:
            write_embeddings_sharded(results, model, splits)
        elif rank == 0:
            write_embeddings(results, model, ds.mode, splits)
        if rank != 0:
            return None
        model.save(results.path(MODEL))
        st = model.state_
        from neurocine.report.figures import plot_embedding, plot_loss_curves

        plot_loss_curves(st.history, st.valid_history, results.figure("loss_curve.png"))
        plot_embedding(results.read_embeddings(), results.figure("embedding.png"))
        return {"steps": st.step, "best_step": st.best_step, "best_valid_loss": st.best_valid,
                "final_train_loss": st.history[-1]["loss"] if st.history else None,
                "stopped_early": st.stopped_early, "seconds": seconds,
                "steps_per_second": st.step / max(st.seconds, 1e-9), "learning_mode": model.learning_mode_,
                "supervision": model.supervision_, "aligned": model.aligned_, "dataset_mode": ds.mode,
                "device": str(model.device_), "processes": world, "sessions": session_ids,
                "num_neurons": num_neurons}

    def summary(self, m):
        return (f"{m['steps']} steps in {m['seconds']:.0f} s, best valid InfoNCE {m['best_valid_loss']:.4f} at step "
                f"{m['best_step']}" + (" (early stop)" if m.get("stopped_early") else ""))

    def report(self, m):
        return (f"<p class='note'>{len(m.get('sessions', []))} sessions "
                f"({', '.join(map(str, m.get('num_neurons', [])))} neurons); "
                f"{html.escape(str(m.get('learning_mode')))} CEBRA, {m.get('steps')} steps on "
                f"{html.escape(str(m.get('device')))}. Supervision: "
                f"<span id='supervision'>{html.escape(str(m.get('supervision')))}</span>.</p>")
