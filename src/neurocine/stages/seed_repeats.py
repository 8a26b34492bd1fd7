"""Stage ``seed-repeats``: how much the frame ID depends on the seed.

With ``training.seed_repeats: K`` (> 1) the embedding is fitted K - 1 more times (seeds
``seed + 1`` ...), each decoded like the main model (its decoder chosen on validation) on
the first movie that decode-frames scored (natural_movie_one when shown);
the mean and standard deviation over the K fits go to
``metrics.json["frame_id"]["seed_variation"]``. Off by default: each repeat costs a
training.
"""

from __future__ import annotations

import numpy as np

from neurocine.data import training_rows
from neurocine.embed import CEBRA
from neurocine.evaluate.frame_id import evaluate_frame_id, movie_sessions
from neurocine.scores import Comparison
from neurocine.stages.base import Stage, StageContext, register_stage, skipped
from neurocine.stimuli import LABELS


@register_stage
class SeedRepeats(Stage):
    name = "seed-repeats"
    key = "frame_id.seed_variation"
    help = "refit the embedding with K seeds and report the frame ID's spread (training.seed_repeats)"
    reads = ("training", "frame_id")
    position = 30

    def enabled(self, config):
        return config.training.seed_repeats > 1

    def run(self, ctx: StageContext):
        cfg = ctx.config
        main = ctx.results.get("frame_id", {})
        if "cebra" not in main:
            return skipped("decode-frames has no frame-ID result to repeat ("
                           f"{main.get('skipped', 'run decode-frames first')})")
        label = main["label"]  # the first movie shown (natural_movie_one when shown)
        splits = ctx.splits()
        window = tuple(ctx.results.get("training", {}).get("receptive_field", (5, 5)))
        first = Comparison.from_json(main, "accuracy_1s")
        test, valid = [first.value("cebra")], [first.valid_score("cebra")]
        seeds = [cfg.training.seed]
        for k in range(1, cfg.training.seed_repeats):
            seed = cfg.training.seed + k
            ctx.say(f"{self.name}: fitting the embedding with seed {seed} ({k + 1} of {cfg.training.seed_repeats})")
            model = CEBRA.from_config(cfg, verbose=ctx.progress).set_params(seed=seed)
            model.fit(training_rows(splits["train"], cfg.dataset.train_on),
                      valid=training_rows(splits["valid"], cfg.dataset.train_on))
            embeddings = {"cebra": {p.session_id: {sp: {"embedding": model.transform(splits[sp][i], session_id=i)}
                                                   for sp in ("train", "valid", "test")}
                                    for i, p in enumerate(splits["train"])}}
            sessions = movie_sessions(splits, embeddings, label)
            res = evaluate_frame_id(sessions, LABELS[label].n_values, n_neighbors=cfg.decoding.n_neighbors,
                                    tolerance=cfg.decoding.tolerance_frames, window=window, models={"cebra": {}},
                                    label=label, n_boot=100, seed=seed, baselines=False)
            test.append(res.value("cebra"))
            valid.append(res.valid_score("cebra"))
            seeds.append(seed)
        return {"label": label, "seeds": seeds, "test_accuracy_1s": test, "valid_accuracy_1s": valid,
                "test_mean": float(np.mean(test)), "test_sd": float(np.std(test, ddof=1)),
                "valid_mean": float(np.mean(valid)), "valid_sd": float(np.std(valid, ddof=1))}

    def summary(self, m):
        return (f"frame ID over {len(m['seeds'])} seeds: test {m['test_mean']:.3f} ± {m['test_sd']:.3f} (sd), "
                f"valid {m['valid_mean']:.3f} ± {m['valid_sd']:.3f}")
