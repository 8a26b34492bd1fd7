"""Command line: a thin shell over the Python API.

``neurocine config | simulate | import-trials | import-movie | inspect | check | run | report``, and one
subcommand per registered stage (``train``, ``decode-frames``, ...: :data:`neurocine.stages.STAGES`).
Errors caused by input print one line (``neurocine: error: ...``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager
import time
from pathlib import Path

import numpy as np
import yaml

from neurocine import pipeline
from neurocine.adapt_run import run_adapt
from neurocine.data import load_dataset, load_sessions, make_dataloader
from neurocine.data.dataset import refuse_under_torchrun
from neurocine.data.discovery import read_options
from neurocine.embed import distributed
from neurocine.errors import ConfigError, DataError, NeurocineError
from neurocine.evaluate.adapt import read_adapt, read_adapt_trials
from neurocine.io import LAYOUTS, write_brainsets
from neurocine.io.simulate import DEFAULT_NEURONS, SimulationConfig, simulate_dataset
from neurocine.io.movies import load_movie_npz, movie_recording, split_units
from neurocine.io.trials import load_trials_npz, trials_recording
from neurocine.results import MARKER, refuse_empty_path
from neurocine.settings import DatasetConfig
from neurocine.settings.files import listing, packaged, resolve
from neurocine.settings.flags import add_setting_flags, setting_flag_values
from neurocine.stages import STAGES, job, run_stage
from neurocine.stimuli import LABELS, STIMULI


class _Parser(argparse.ArgumentParser):
    """argparse with neurocine's one-line errors (exit code 2, no usage block)."""
    def error(self, message):
        self.exit(2, f"neurocine: error: {' '.join(message.split())} (see '{self.prog} --help')\n")


def _count(text: str) -> int:
    """An integer >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}, expected an integer >= 1")
    return value


def _add_skip_bad(p):
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable session files (listed) instead of stopping")
    p.add_argument("--pattern", default="*.h5 *.nwb", help="globs for session files (default: '*.h5 *.nwb')")
    p.add_argument("--max-sessions", "--max_sessions", type=_count, default=None, dest="max_sessions")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="a dataset setting for reading, e.g. --set dataset.populations=per_area "
                        "--set dataset.areas=[VISp] --set dataset.bin_s=1 (repeatable)")


def _add_config_options(p) -> None:

    p.add_argument("--config", default=None, help="a packaged config (allen, allen_gpu, demo: 'neurocine config "
                                                  "list') or a YAML file; default: the built-in defaults")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="any setting, e.g. --set model.temperature=0.1 --set reconstruction.output_shape=[64,128] "
                        "(YAML values, checked like the file; repeatable)")
    p.add_argument("--no-tensorboard", action="store_true", help="write no TensorBoard event files")
    add_setting_flags(p)  # --data_dir, --batch_size, --out, ...: the rows of the table with a flag
    p.add_argument("--resume", action="store_true", help="continue training from out/checkpoint.pt")
    p.add_argument("--force", action="store_true", help="recompute stages whose outputs exist")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neurocine", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_Version, nargs=0, help="versions of neurocine, torch, cebra; CUDA")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("config", help="the packaged configs: list them, or show one with every setting explained")
    p.add_argument("action", choices=("list", "show"))
    p.add_argument("name", nargs="?", default=None, help="config to show (a packaged name or a YAML file; "
                                                         "default: the built-in defaults)")

    p = sub.add_parser("simulate", help="write realistic simulated sessions (the demo data)")
    p.add_argument("--out", required=True, help="output folder (must not hold the simulator's files yet)")
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("kirby", "brainsets"), default="kirby", help="file layout (default: kirby)")
    p.add_argument("--neurons", type=int, nargs="+", default=None, help="neurons per session (cycled)")
    p.add_argument("--frame-size", type=int, nargs=2, default=(64, 128), metavar=("H", "W"))
    p.add_argument("--grating-repeats", type=int, default=3, help="trials per grating condition (Allen: 15)")
    p.add_argument("--spontaneous-s", type=float, default=30.0, help="length of each spontaneous epoch, s")

    p = sub.add_parser("import-trials", help="trial-aligned arrays (.npz: cells x trials x samples, a label per "
                                             "trial) -> a session file in the brainsets layout")
    p.add_argument("npz", help="the .npz (the Allen grating file's keys by default)")
    p.add_argument("--out", required=True, help="folder for <session_id>.h5 (the file must not exist yet)")
    p.add_argument("--dff", default="dff", help="key of the (cells, trials, samples) dF/F (default: dff)")
    p.add_argument("--time", default="time_s", help="key of the (samples,) time from onset, s (default: time_s)")
    p.add_argument("--label", action="append", default=None, metavar="LABEL=KEY",
                   help="a registered label and its (trials,) key, e.g. drifting_gratings.direction=orientation_deg "
                        "(repeatable; default: the Allen grating file's direction and temporal frequency)")
    p.add_argument("--rate", type=float, default=None, help="sampling rate, Hz (default: from --time)")
    p.add_argument("--stimulus-s", type=float, default=None, help="seconds the stimulus is on after onset "
                                                                  "(labels cover it; default: the whole trial)")
    p.add_argument("--seed", type=int, default=42, help="seed of the stratified 70/10/20 trial split")

    p = sub.add_parser("import-movie", help="movie repeats as arrays (.npz: data units x repeats x samples, frame "
                                            "per sample, rate) -> a session file in the brainsets layout")
    p.add_argument("npz", help="the .npz: data (units, repeats, samples), frame (samples,), rate (Hz), optional "
                               "movie (default natural_movie_one) and session_id")
    p.add_argument("--out", required=True, help="folder for <session_id>.h5 (the file must not exist yet)")
    p.add_argument("--units", choices=("dff", "spikes"), default="dff",
                   help="what data holds: dF/F or spike counts (reports then say spikes); default dff")
    p.add_argument("--split-units", "--split_units", dest="split_units", type=_count, default=1, metavar="K",
                   help="deal the units at random into K disjoint groups, one session file each "
                        "(<id>-units<k>of<K>): pseudo-animals from one recording (default 1: one file)")
    p.add_argument("--seed", type=int, default=0, help="seed of --split-units (default 0)")

    p = sub.add_parser("inspect", help="per-session shapes, rates, split counts, stimuli, and totals")
    p.add_argument("data_dir")
    _add_skip_bad(p)

    p = sub.add_parser("check", help="load everything and draw a few batch-4 DataLoader batches")
    p.add_argument("data_dir")
    p.add_argument("--batch-size", type=_count, default=4)
    _add_skip_bad(p)


    run = sub.add_parser("run", help="all stages: " + " -> ".join(s.name for s in job()) + " -> report")
    _add_config_options(run)
    for stage in job():
        p = sub.add_parser(stage.name, help=stage.help)
        p.set_defaults(stage=stage.name)
        if stage.takes_config:
            _add_config_options(p)
        else:
            p.add_argument("results", help="results folder written by 'neurocine train'")
            p.add_argument("--force", action="store_true", help="recompute even if outputs exist")
            p.add_argument("--quiet", action="store_true")
    p = sub.add_parser("adapt", help="add new animals to a trained model from a few repeats, and measure them")
    p.add_argument("results", help="results folder with the trained model (neurocine run / train)")
    p.add_argument("--data_dir", "--data-dir", dest="data_dir", required=True, help="folder of the new sessions")
    p.add_argument("--out", required=True, help="results folder for the adapted model and its numbers")
    p.add_argument("--repeats", type=_count, nargs="+", default=None,
                   help="movie repeats of the new animal to adapt from (a learning curve; default: 1 2 4 8 when the "
                        "new sessions show a movie)")
    p.add_argument("--trials-per-condition", "--trials_per_condition", dest="trials_per_condition", type=_count,
                   nargs="+", default=None,
                   help="trials per condition of the new animal's trial stimuli (gratings, scenes) to adapt from "
                        "(a learning curve; default: 1 2 4 8 when the new sessions show no movie)")
    p.add_argument("--init", choices=("encoder", "input_layer"), default="encoder",
                   help="a whole new encoder per new session, or a new input layer under a trained encoder's trunk")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("report", help="report.html from a results folder")
    p.add_argument("results", help="results folder written by 'neurocine run'")
    p.add_argument("--quiet", action="store_true")
    return parser


class _Version(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``neurocine X (torch Y, cebra Z, CUDA ...)``."""
    from importlib import metadata

    def v(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        import torch

        cuda = (f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)" if torch.cuda.is_available()
                else "CUDA not available")
    except ImportError:  # pragma: no cover
        cuda = "torch not importable"
    return (f"neurocine {v('neurocine')} (torch {v('torch')}, cebra {v('cebra')}, "
            f"Python {sys.version.split()[0]}; {cuda})")


def parse_settings(items: list[str]) -> dict:
    """``["model.temperature=0.1", ...]`` -> ``{"model.temperature": 0.1}`` (values read as YAML)."""


    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set model.temperature=0.1")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML") from None
    return out


def resolve_config(args):
    """Config (packaged name, file or defaults) + the shortcut flags + every --set, checked."""
    cfg = resolve(args.config)
    flags = setting_flag_values(args)  # a flag not given changes nothing
    if args.no_tensorboard:
        flags["training.tensorboard"] = False
    return cfg.override({**flags, **parse_settings(args.settings)})


def cmd_config(args) -> int:

    if args.action == "list":
        for name, path in sorted(packaged().items()):
            first = path.read_text().splitlines()[0].lstrip("# ").strip()
            print(f"{name:12s} {first}")
        return 0
    print(listing(resolve(args.name), args.name or "built-in defaults"), end="")
    return 0


def cmd_stage(args) -> int:
    """One stage: ``train`` from a config (under torchrun too), the others on a folder."""
    stage = STAGES[args.stage]
    if not stage.takes_config:
        metrics = run_stage(stage, args.results, force=args.force, progress=not args.quiet)
        if "skipped" in metrics:  # asked for by name, it had nothing to do: inside 'run' that is only a note
            raise NeurocineError(f"{stage.name}: nothing to do in {args.results}: {metrics['skipped']}")
        return 0
    cfg = resolve_config(args)
    _check_torchrun(cfg)
    rank, _ = distributed.init_from_env(cfg.model.device)  # torchrun: join the process group
    t = time.perf_counter()
    run_stage(stage, cfg.output_dir, cfg, force=args.force, resume=args.resume, progress=not args.quiet)
    distributed.finish()
    if rank == 0:
        print(f"wall time per stage: {stage.name} {time.perf_counter() - t:.1f} s")
    return 0


def _check_torchrun(cfg) -> None:
    """Under torchrun, refuse what a sharded run cannot do before any process joins the group."""
    if distributed.env_world()[1] > 1 and cfg.dataset.mode == "separate":
        refuse_under_torchrun(cfg.dataset)


def cmd_run(args) -> int:

    cfg = resolve_config(args)
    _check_torchrun(cfg)
    rank, _ = distributed.init_from_env(cfg.model.device)  # under torchrun only training is distributed
    pipeline.run_all(cfg, cfg.output_dir, force=args.force, resume=args.resume, progress=not args.quiet)
    distributed.finish()
    if rank == 0:
        print(f"results in {cfg.output_dir}")
    return 0


def cmd_adapt(args) -> int:
    m = run_adapt(args.results, args.data_dir, args.out, args.repeats, args.trials_per_condition, args.init,
                  progress=not args.quiet)
    for c in m.get("curve", []):
        r = read_adapt(c)
        d, own = r.margin("adapted", "strongest_own"), r.test["strongest_own"]
        print(f"adapt: {c['repeats']} repeat(s): adapted {r.value('adapted'):.3f} (others' decoders), "
              f"own strongest baseline ({own['decoder']}) {r.value('strongest_own'):.3f}, "
              f"own template {r.value('template_own'):.3f}, difference to the strongest {d.value:+.3f} "
              f"[{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]; new encoder fitted in {c['seconds']:.1f} s")
    for c in m.get("trials", {}).get("curve", []):
        for label, e in c["classes"].items():
            r = read_adapt_trials(e)
            d = r.margin("adapted", "logistic_own")
            print(f"adapt: {c['trials_per_condition']} trial(s) per condition, {label}: adapted "
                  f"{r.value('adapted'):.3f} (others' decoders), own logistic on dF/F "
                  f"{r.value('logistic_own'):.3f}, own kNN {r.value('knn_own'):.3f}, difference to "
                  f"logistic {d.value:+.3f} [{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]")
    print(f"results in {args.out}")
    return 0


def cmd_report(args) -> int:

    pipeline.stage_report(args.results)
    return 0


def session_folder(given: str):
    """The data folder an import writes its session file into (``--out``), refused before
    anything is read: an empty path (the current folder), a file, or a neurocine results
    folder (a session file there would sit among a run's outputs). The session file itself
    is never overwritten (the writers refuse an existing one)."""
    refuse_empty_path(given)
    out = Path(given)
    if out.exists() and not out.is_dir():
        raise DataError(out, "is a file, expected a folder for the session file (--out)")
    if (out / MARKER).exists():
        raise DataError(out, "is a neurocine results folder, expected a data folder for the session file (--out)")
    return out


def cmd_import_trials(args) -> int:

    labels = None
    if args.label:
        labels = {}
        for item in args.label:
            if "=" not in item:
                raise ConfigError(f"--label {item!r}: expected LABEL=KEY, "
                                  "e.g. drifting_gratings.direction=orientation_deg")
            name, key = item.split("=", 1)
            labels[name] = key
    out = session_folder(args.out)
    arrays = load_trials_npz(args.npz, args.dff, args.time, labels, args.rate)
    rec = trials_recording(**arrays, stimulus_s=args.stimulus_s, seed=args.seed, source=args.npz)
    path = write_brainsets(rec, out / f"{rec.session_id}.h5", session_type="trials", source=args.npz)
    dff = np.asarray(arrays["dff"])
    print(f"wrote {path}: {dff.shape[1]} trials x {dff.shape[2]} samples of {dff.shape[0]} cells at "
          f"{arrays['sampling_rate']:.2f} Hz, labels {', '.join(arrays['labels'])}; splits by trial 70/10/20 "
          f"(seed {args.seed}, stratified by condition)")
    return 0


def cmd_import_movie(args) -> int:
    out = session_folder(args.out)
    arrays = load_movie_npz(args.npz)
    rec = movie_recording(**arrays, units=args.units, source=args.npz)
    parts = split_units(rec, args.split_units, args.seed) if args.split_units > 1 else [rec]
    clash = [p.session_id for p in parts if (out / f"{p.session_id}.h5").exists()]
    if clash:  # before the first file is written: all of them or none
        raise DataError(out / f"{clash[0]}.h5", "already exists; refusing to overwrite (remove it or choose another "
                                                "--out)")
    _, R, S = np.asarray(arrays["data"]).shape
    kind = "spike counts" if args.units == "spikes" else "dF/F"
    for part in parts:
        path = write_brainsets(part, out / f"{part.session_id}.h5", session_type="movie repeats", source=args.npz)
        print(f"wrote {path}: {R} repeats of {arrays['movie']} x {S} samples of {part.traces.shape[1]} units ({kind}) "
              f"at {arrays['sampling_rate']:g} Hz; splits by repeat in order "
              + "/".join(str(len(rec.splits[s][0])) for s in ("train", "valid", "test")) + " (train/valid/test)")
    return 0


def cmd_simulate(args) -> int:

    cfg = SimulationConfig(sessions=args.sessions, seed=args.seed, layout=args.format,
                           neurons=tuple(args.neurons or DEFAULT_NEURONS), frame_shape=tuple(args.frame_size),
                           grating_repeats=args.grating_repeats, spontaneous_s=args.spontaneous_s)
    paths = simulate_dataset(args.out, cfg)
    print(f"wrote {len(paths)} {args.format} sessions, natural_movie_one.npy "
          f"(900, {cfg.frame_shape[0]}, {cfg.frame_shape[1]}) uint8 and ground truth to {args.out}")
    return 0


def _dataset_settings(args) -> DatasetConfig:
    """The dataset settings inspect and check read with: the defaults, the folder, the
    flags and every ``--set dataset.*`` (checked like a config file)."""
    extra = parse_settings(args.settings)
    wrong = [k for k in extra if not k.startswith("dataset.")]
    if wrong:
        raise ConfigError(f"--set {wrong[0]}: inspect and check take dataset settings only (dataset.*)")
    cfg = resolve(None).override({"dataset.data_dir": args.data_dir, "dataset.file_pattern": args.pattern,
                                  "dataset.max_sessions": args.max_sessions, "dataset.skip_bad": args.skip_bad,
                                  **extra})
    return cfg.dataset


def _load(args):

    ds = _dataset_settings(args)
    sessions = load_sessions(ds.data_dir, ds.file_pattern, ds.max_sessions, skip_bad=ds.skip_bad, progress=False,
                             options=read_options(ds), exclude=ds.exclude)
    for path, reason in sessions.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return sessions


def describe_session(s) -> list[str]:
    """Seed-style lines for one session (``test_allen_dataset``)."""
    T = s.num_timepoints
    lines = [f"Session {s.session_id} ({s.layout} layout): {s.path}",
             f"   - df_over_f shape: {s.traces.shape}" if s.modality == "dff" else
             f"   - spike counts shape: {s.traces.shape}" + _spike_details(s.metadata),
             f"   - sampling rate: {s.sampling_rate:.2f} Hz",
             *[f"   - {k}_mask: {int(s.mask(k).sum())} / {T} samples" for k in ("train", "valid", "test")],
             f"   - domain: [{s.domain[0]:.5f}, {s.domain[1]:.3f}]"]
    stim = []
    for name in s.stimuli():
        stim.append(describe_stimulus(s, name))
    lines.append(f"   - stimuli: {', '.join(stim) or 'none'}")

    rule = LAYOUTS[s.layout].split_rule if s.layout in LAYOUTS else None
    if rule:
        lines.append(f"   - splits: {rule}")
    lines += unit_lines(s.metadata)
    if s.subject:
        lines.append("   - subject: " + ", ".join(f"{k}={v}" for k, v in sorted(s.subject.items())))
    return lines


def _spike_details(meta: dict) -> str:
    """`` (33.33 ms bins, sqrt)``: how a spike session's counts were binned and transformed."""
    parts = [f"{1e3 * meta['bin_s']:.4g} ms bins"] if "bin_s" in meta else []
    if meta.get("spike_transform", "none") != "none":
        parts.append(meta["spike_transform"])
    return f" ({', '.join(parts)})" if parts else ""


def unit_lines(meta: dict) -> list[str]:
    """Units kept per area and dropped (and why) of a spike session read from NWB 2."""
    if "units_kept_per_area" not in meta:
        return []
    kept = meta["units_kept_per_area"]
    lines = ["   - units kept per area: " + ", ".join(f"{a} {n}" for a, n in sorted(kept.items()))
             + f" ({sum(kept.values())} in all; areas {', '.join(meta.get('areas', []))})"]
    dropped = meta.get("units_dropped_per_area", {})
    if dropped:
        lines.append("   - units dropped: " + "; ".join(
            f"{a}: " + ", ".join(f"{n} {why}" for why, n in sorted(r.items())) for a, r in sorted(dropped.items())))
    return lines


def describe_stimulus(s, name: str) -> str:
    """``natural_movie_one (10 repeats, 9000 samples)`` / ``drifting_gratings (8 direction x
    5 temporal_frequency, 7200 samples)``."""

    stim = STIMULI[name]
    first = LABELS[stim.labels[0]]
    n = int(first.present(s.label(first.name)).sum())
    if stim.structure == "movie":
        rep = s.label(f"{name}.repeat")
        return f"{name} ({len(np.unique(rep[rep >= 0]))} repeats, {n} samples)"
    sizes = []
    for label in stim.labels:
        values = s.label(label)
        spec = LABELS[label]
        k = len(np.unique(values[spec.present(values)]))
        noun = label.split(".", 1)[1].replace("_", " ")
        if k != 1:
            noun = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
        sizes.append(f"{k} {noun}")
    return f"{name} ({' x '.join(sizes)}, {n} samples)"


def summary_lines(sessions) -> list[str]:
    """The original design's ``simple_allen_test`` totals."""
    n = [s.num_neurons for s in sessions]
    return [f"   Total sessions loaded: {len(sessions)}",
            f"   Total neurons: {sum(n)}",
            f"   Total train timepoints: {sum(int(s.train_mask.sum()) for s in sessions)}",
            f"   Average neurons per session: {np.mean(n):.1f}"]


def cmd_inspect(args) -> int:
    sessions = _load(args)
    for s in sessions:
        print("\n".join(describe_session(s)))
        print()
    print("Summary")
    print("\n".join(summary_lines(sessions)))
    return 0


def cmd_check(args) -> int:

    sessions = _load(args)
    ds = _dataset_settings(args)
    for split in ("train", "valid", "test"):
        parts = load_dataset(ds, split, sessions=sessions)
        if split != "train":
            print(f"{split}: " + ", ".join(f"{p.session_id} {p.shape}" for p in parts))
            continue

        for i, part in enumerate(parts):
            print(f"Session {i + 1} ({part.session_id}): train {part.shape}")
            for b, (neural, times) in enumerate(make_dataloader(part, batch_size=args.batch_size)):
                print(f"   Batch {b + 1}: neural={neural.shape}, time={times.shape}")
                if not (np.isfinite(neural.numpy()).all() and np.isfinite(times.numpy()).all()):
                    print("   non-finite values in a batch", file=sys.stderr)
                    return 1
                if b == 2:
                    break
    print("\n".join(summary_lines(sessions)))
    print("All checks passed")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (one line printed): its exit code
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    handler = cmd_stage if getattr(args, "stage", None) else globals()[f"cmd_{args.command.replace('-', '_')}"]
    with _warnings_held() as held:
        return _run(handler, args, held)


@contextmanager
def _warnings_held():
    """Hold the warnings raised during a command (torch, pynwb, numpy's overflow, ours) and
    show them when it ends, so that a refused command prints its one line alone and a
    finished one its warnings after its progress bars. Yields the held list (cleared to
    drop them)."""
    held, show = [], warnings.showwarning

    def hold(*args):
        held.append(args)

    warnings.showwarning = hold
    try:
        yield held
    finally:
        warnings.showwarning = show
        for item in held:
            show(*item)


def _run(handler, args, held: list) -> int:
    """The command; an error caused by input becomes one line and exit code 2, and the
    warnings held meanwhile are dropped."""
    code = None
    try:
        code = int(handler(args) or 0)
        return code
    except NeurocineError as exc:
        if distributed.env_world()[0] == 0:  # under torchrun every process stops; one says why
            print(f"neurocine: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the file system refuses (too long, permissions) outside our writers
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"neurocine: error: {where[:240]}{exc.strerror or one_line(exc)}".rstrip(), file=sys.stderr)
        return 2
    except MemoryError:
        print("neurocine: error: not enough memory for these settings (lower model.batch_size, "
              "model.output_dimension or reconstruction sizes, or dataset.max_sessions)", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # torch's allocators report a failed allocation as a RuntimeError
        if "out of memory" not in str(exc) and "allocate" not in str(exc):
            raise
        print(f"neurocine: error: not enough memory for these settings ({one_line(exc)[:160]}); lower "
              "model.batch_size, model.output_dimension or the reconstruction sizes", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("neurocine: interrupted", file=sys.stderr)
        return 130
    finally:
        if code is None:
            held.clear()


def one_line(exc: BaseException) -> str:
    """An error's message on one line (libraries such as h5py report over several)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
