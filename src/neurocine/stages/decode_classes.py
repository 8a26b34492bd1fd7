"""Stage ``decode-classes``: every trial stimulus the sessions show, decoded per trial.

For each class label of a trial stimulus present in the sessions (drifting gratings:
direction 8-way, temporal frequency 5-way, orientation 4-way; static gratings;
natural scenes 118-way), each embedding's trial means beside logistic regression and kNN
on dF/F trial means (the same samples), and chance; fitted on train trials, choices made
on valid trials, test accuracy with a 95 % bootstrap interval over trials, per session and
pooled. Metrics under ``metrics.json["classification"][label]``.
"""

from __future__ import annotations

import html

import numpy as np

from neurocine.stages import Stage, StageContext, register_stage, skipped, table
from neurocine.stimuli import LABELS, STIMULI

BASELINES = ("logistic_dff", "knn_dff")
NAMES = {"cebra": "CEBRA embedding", "cebra_label_free": "CEBRA embedding, label-free",
         "logistic_dff": "logistic regression on dF/F", "knn_dff": "kNN on dF/F", "chance": "chance (uniform guess)"}


def _ci(x):
    return "–" if not x else f"[{x[0]:.3f}, {x[1]:.3f}]"


def stimulus_trials(part, stimulus: str) -> list[np.ndarray]:
    """Rows of each trial of ``stimulus`` in a split (runs of one condition in one segment).

    A condition is the combination of the stimulus's labels that the split carries (trial
    arrays imported with the direction alone still make trials)."""
    from neurocine.decoders.classify import trial_rows

    cond = STIMULI[stimulus].condition_ids(part.labels)
    if not len(cond):
        return []
    return trial_rows(cond, part.segment, cond >= 0)


def decode_label(sessions: list[dict], models: list[str], n_neighbors: int, n_classes: int, seed: int = 0,
                 n_boot: int = 1000) -> dict:
    """Decode one class label from per-session trial features.

    Args:
        sessions: ``[{"session_id", split: {"y": (K,), "dff": (K, N), model: (K, D)}}]``.
        models: Embedding names present in every split dict.
        n_classes: Classes of the label (chance is 1 / n_classes, a uniform guess).
    """
    from neurocine.decoders.classify import KNN, Logistic
    from neurocine.decoders.uncertainty import block_bootstrap

    preds = {m: [] for m in [*BASELINES, *models]}
    valid_scores = {m: {"logistic": [], "knn": []} for m in models}
    y_test, valid_pred = [], {m: [] for m in BASELINES}
    y_valid = []
    per_session = {}
    for s in sessions:
        tr, va, te = s["train"], s["valid"], s["test"]
        if len(np.unique(tr["y"])) < 2 or not len(te["y"]):
            continue
        fitted = {"logistic_dff": Logistic(tr["dff"], tr["y"], va["dff"], va["y"], seed),
                  "knn_dff": KNN(tr["dff"], tr["y"], n_neighbors)}
        out, vout = {}, {}
        for name, dec in fitted.items():
            out[name] = dec.predict(te["dff"])
            vout[name] = dec.predict(va["dff"]) if len(va["y"]) else np.zeros(0, dtype=np.int64)
        for m in models:
            cands = {"logistic": Logistic(tr[m], tr["y"], va[m], va["y"], seed), "knn": KNN(tr[m], tr["y"], n_neighbors)}
            for d, dec in cands.items():
                valid_scores[m][d].append((dec.predict(va[m]) if len(va["y"]) else np.zeros(0), dec.predict(te[m])))
        for k, v in out.items():
            preds[k].append(v)
        for k, v in vout.items():
            valid_pred[k].append(v)
        y_test.append(te["y"])
        y_valid.append(va["y"])
        per_session[s["session_id"]] = {k: float(np.mean(v == te["y"])) for k, v in out.items()}
        per_session[s["session_id"]]["chance"] = 1.0 / n_classes
    if not y_test:
        return {}
    y_test, y_valid = np.concatenate(y_test), np.concatenate(y_valid)
    res = {"valid": {}}
    for m in models:
        acc = {d: float(np.mean(np.concatenate([v for v, _ in valid_scores[m][d]]) == y_valid)) if len(y_valid) else 0.0
               for d in ("logistic", "knn")}
        best = max(acc, key=acc.get)
        preds[m] = [t for _, t in valid_scores[m][best]]
        res[m] = {"decoder": best, "decoder_valid_accuracy": acc}
        res["valid"][m] = {"accuracy": acc[best]}
    scores = {k: (np.concatenate(v) == y_test).astype(float) for k, v in preds.items()}
    scores["chance"] = np.full(len(y_test), 1.0 / n_classes)
    boot = block_bootstrap(scores, np.arange(len(y_test)), n_boot, seed,
                           pairs=[(m, b) for m in models for b in BASELINES])
    for k in scores:
        res.setdefault(k, {}).update({"accuracy": boot[k]["mean"], "accuracy_ci95": boot[k]["ci95"]})
    for k in BASELINES:
        res["valid"][k] = {"accuracy": float(np.mean(np.concatenate(valid_pred[k]) == y_valid)) if len(y_valid) else None}
    res["valid"]["chance"] = {"accuracy": 1.0 / n_classes}
    strongest = max(BASELINES, key=lambda b: res["valid"][b]["accuracy"] or 0.0)
    res["strongest_baseline"] = strongest
    res["comparison"] = {f"{m} - {strongest}": {k: boot[f"{m} - {strongest}"][k] for k in ("mean", "ci95")}
                         for m in models}
    offset = 0
    for sid in per_session:
        n = len(next(s for s in sessions if s["session_id"] == sid)["test"]["y"])
        for m in models:
            per_session[sid][m] = float(scores[m][offset:offset + n].mean())
        offset += n
    res["per_session"] = per_session
    res["n_test_trials"] = int(len(y_test))
    return res


@register_stage
class DecodeClasses(Stage):
    name = "decode-classes"
    key = "classification"
    help = "decode grating direction / temporal frequency, static gratings and natural scenes per trial"

    def run(self, ctx: StageContext):
        cfg, results = ctx.config, ctx.results
        splits = ctx.splits()
        embeddings = {"cebra": ctx.embeddings()}
        if results.exists("embeddings_label_free.h5"):
            embeddings["cebra_label_free"] = results.read_embeddings("embeddings_label_free.h5")
        training = results.get("training", {})
        out = {}
        for stimulus, stim in STIMULI.items():
            if stim.structure != "trials":
                continue
            trials = [{sp: stimulus_trials(splits[sp][i], stimulus) for sp in ("train", "valid", "test")}
                      for i in range(len(splits["train"]))]
            if not any(t["test"] for t in trials):
                continue
            for label in [n for n, spec in LABELS.items() if spec.stimulus == stimulus and spec.kind == "class"
                          and spec.classes is not None]:
                sessions = []
                for i, p in enumerate(splits["train"]):
                    entry = {"session_id": p.session_id}
                    for sp in ("train", "valid", "test"):
                        q, rows = splits[sp][i], trials[i][sp]
                        spec = LABELS[label]
                        ids = np.array([spec.class_ids(q.label(label)[r[:1]])[0] for r in rows], dtype=np.int64)
                        keep = [r for r, c in zip(rows, ids) if c >= 0]
                        entry[sp] = {"y": ids[ids >= 0],
                                     "dff": np.stack([q.neural[r].mean(0) for r in keep]) if keep
                                     else np.zeros((0, q.neural.shape[1]))}
                        for m, emb in embeddings.items():
                            e = emb[p.session_id][sp]["embedding"]
                            entry[sp][m] = np.stack([e[r].mean(0) for r in keep]) if keep else np.zeros((0, e.shape[1]))
                    sessions.append(entry)
                res = decode_label(sessions, list(embeddings), cfg.decoding.n_neighbors, LABELS[label].n_classes,
                                   cfg.training.seed)
                if not res:
                    continue
                spec = LABELS[label]
                res.update({"n_classes": spec.n_classes, "unit": spec.unit,
                            "features": "mean over each trial's samples (stimulus period)",
                            "supervision": {"cebra": training.get("supervision"), "cebra_label_free": "none",
                                            "baselines": f"{label} (train trials)"}})
                out[label] = res
        return out or skipped("no trials of a trial stimulus (gratings, natural scenes) in the test split of any "
                              "session")

    def summary(self, res):
        parts = []
        for label, r in res.items():
            if not isinstance(r, dict) or "cebra" not in r:
                continue
            b = r["strongest_baseline"]
            parts.append(f"{label}: CEBRA {r['cebra']['accuracy']:.3f} vs {b} {r[b]['accuracy']:.3f} "
                         f"(chance {r['chance']['accuracy']:.3f})")
        return "; ".join(parts)

    def report(self, res):
        parts = ["<h2>Trial decoding: what else the mouse saw</h2>",
                 "<p class='note'>Each trial is its mean over the stimulus period (dF/F or embedding); decoders fitted "
                 "on train trials, choices on valid trials; test accuracy with 95 % bootstrap intervals over "
                 "trials.</p>"]
        for label, r in res.items():
            if not isinstance(r, dict) or "cebra" not in r:
                continue
            b = r["strongest_baseline"]
            rows = []
            for k in [m for m in ("cebra", "cebra_label_free") if m in r] + ["logistic_dff", "knn_dff", "chance"]:
                name = NAMES[k] + (f" ({r[k]['decoder']})" if "decoder" in r[k] else "")
                name += " ← strongest baseline" if k == b else ""
                rows.append([name, r["valid"].get(k, {}).get("accuracy"), r[k]["accuracy"],
                             _ci(r[k]["accuracy_ci95"])])
            parts.append(f"<h3>{html.escape(label)} ({r['n_classes']} classes, {r['n_test_trials']} test trials)</h3>")
            parts.append(table(["method", "valid accuracy", "test accuracy", "95 % CI"], rows,
                               f"classes-{label.replace('.', '-')}", 2))
            sup = r.get("supervision", {})
            parts.append(f"<p class='note'>Labels that trained each model: CEBRA embedding "
                         f"{html.escape(str(sup.get('cebra') or 'unknown'))}; label-free embedding none; "
                         f"baselines {html.escape(str(sup.get('baselines', label)))}.</p>")
            for name, d in r["comparison"].items():
                parts.append(f"<p class='comparison'>{html.escape(name)}: {d['mean']:+.3f} {_ci(d['ci95'])}</p>")
        return "\n".join(parts)
