"""Every bad input or fault gets one clear line, and nothing is lost.

Each case runs the command a user would (``neurocine ...``, in process unless a crash is
the point) and checks: exit code 2, exactly one line on stderr, the file or config key
named, and the input files unmodified."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from conftest import kirby_arrays, write_brainsets_fixture, write_kirby_fixture
from neurocine.cli import main


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def one_line_error(capsys, argv, *needles) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurocine: error: "), err
    for needle in needles:
        assert str(needle) in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------ readers
def _kirby(mutate):
    def make(folder: Path) -> Path:
        return write_kirby_fixture(folder / "501.h5", kirby_arrays(), extra=mutate)
    return make


def _delete(key):
    return lambda f: f.__delitem__(key)


def _replace(key, data, attrs=None):
    def mutate(f):
        del f[key]
        f.create_dataset(key, data=data)
    return mutate


def _attr(group, name, value):
    def mutate(f):
        f[group].attrs[name] = value
    return mutate


def _calcium_as_dataset(f):
    del f["calcium_traces"]
    f.create_dataset("calcium_traces", data=np.zeros((600, 7), np.float32))


READER_CASES = {
    "no frame_number": (_kirby(_delete("natural_movie_one/frame_number")), "natural_movie_one/frame_number"),
    "no movie start": (_kirby(_delete("natural_movie_one/start")), "natural_movie_one/start"),
    "no grating start": (_kirby(_delete("drifting_gratings/start")), "drifting_gratings/start"),
    "frame_number shorter than start": (_kirby(_replace("natural_movie_one/frame_number",
                                                        np.zeros((50, 1), np.float32))),
                                        "natural_movie_one/frame_number' has 50 rows, expected 120"),
    "temp_freq id 7": (_kirby(_replace("drifting_gratings/temp_freq", np.array([0, 1, 7, 4]))),
                       "drifting_gratings/temp_freq has id 7, expected 0..4"),
    "empty domain start": (_kirby(_replace("calcium_traces/domain/start", np.zeros(0))), "domain/start' is empty"),
    "calcium_traces a dataset": (_kirby(_calcium_as_dataset), "'calcium_traces' is a dataset"),
    "string dF/F": (_kirby(_replace("calcium_traces/df_over_f", np.array([["a"] * 7] * 600, dtype="S1"))),
                    "df_over_f holds |S1, expected numbers"),
    "sampling_rate abc": (_kirby(_attr("calcium_traces", "sampling_rate", "abc")), "sampling_rate='abc'"),
    "sampling_rate array": (_kirby(_attr("calcium_traces", "sampling_rate", np.array([30.0, 31.0]))),
                            "expected one number > 0"),
    "sampling_rate 0": (_kirby(_attr("calcium_traces", "sampling_rate", 0.0)), "sampling_rate=0.0, expected a finite"),
    "sampling_rate NaN": (_kirby(_attr("calcium_traces", "sampling_rate", np.nan)), "sampling_rate=nan"),
    "frame 900": (_kirby(_replace("natural_movie_one/frame_number", np.full((120, 1), 900, np.float32))),
                  "natural_movie_one.frame has 900, expected 0..899"),
    "frame -5": (_kirby(_replace("natural_movie_one/frame_number", np.full((120, 1), -5, np.float32))),
                 "natural_movie_one.frame has value -5"),
    "frame NaN": (_kirby(_replace("natural_movie_one/frame_number", np.full((120, 1), np.nan, np.float32))),
                  "frame_number has 120 NaN/inf values"),
}


def _brainsets(extra, name="777.h5"):
    def make(folder: Path) -> Path:
        write_brainsets_fixture(folder / name, extra=extra)
        return folder / name
    return make


def _transposed(data):
    from temporaldata import RegularTimeSeries

    data.calcium_traces = RegularTimeSeries(df_over_f=np.zeros((5, 600), np.float32), sampling_rate=30.0,
                                            domain_start=2.0)


def _unsafe_id(data):
    from temporaldata import Data

    data.session = Data(id="../evil")


def _no_rate(path: Path):
    with h5py.File(path, "a") as f:
        del f["calcium_traces"].attrs["sampling_rate"]


def _brainsets_then(after):
    def make(folder: Path) -> Path:
        write_brainsets_fixture(folder / "777.h5")
        after(folder / "777.h5")
        return folder / "777.h5"
    return make


READER_CASES.update({
    "brainsets transposed": (_brainsets(_transposed), "looks transposed"),
    "brainsets without sampling_rate": (_brainsets_then(_no_rate), "no sampling_rate attribute"),
    "session id with ..": (_brainsets(_unsafe_id), "session id '../evil' is not usable"),
})


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_bad_file_is_one_line_naming_it_and_skip_bad_skips_it(tmp_path, capsys, case):
    make, expected = READER_CASES[case]
    bad = make(tmp_path)
    write_kirby_fixture(tmp_path / "900.h5", kirby_arrays())  # a good file beside it
    before = digest(tmp_path)
    one_line_error(capsys, ["inspect", str(tmp_path)], bad, expected)
    assert main(["inspect", str(tmp_path), "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert f"skipped {bad}" in captured.err and "Total sessions loaded: 1" in captured.out
    assert digest(tmp_path) == before


def test_duplicate_session_ids_are_refused(tmp_path, capsys):
    write_brainsets_fixture(tmp_path / "a.h5")
    write_brainsets_fixture(tmp_path / "b.h5")  # both say session id 777000111
    one_line_error(capsys, ["inspect", str(tmp_path)], tmp_path / "b.h5", "also the id of", "a.h5")


def test_a_dangling_link_is_reported_not_dropped(tmp_path, capsys):
    write_kirby_fixture(tmp_path / "1.h5", kirby_arrays())
    os.symlink(tmp_path / "gone.h5", tmp_path / "2.h5")
    one_line_error(capsys, ["inspect", str(tmp_path)], tmp_path / "2.h5", "broken link")


# ------------------------------------------------------------------------ outputs
TINY = {"model": {"batch_size": 64, "max_iterations": 6, "device": "cpu"},
        "training": {"validate_every": 3, "checkpoint_every": 3, "label_free_model": False},
        "reconstruction": {"enabled": False}}


def _config(tmp_path, data, out, **sections) -> Path:
    cfg = {"dataset": {"data_dir": str(data)}, **yaml.safe_load(yaml.safe_dump(TINY)), "output_dir": str(out)}
    for key, value in sections.items():
        cfg.setdefault(key, {}).update(value)
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def trained(sim_dir, tmp_path_factory):
    """A finished train stage in a folder (the tiny config)."""
    root = tmp_path_factory.mktemp("rel")
    cfg = _config(root, sim_dir, root / "done")
    assert main(["train", "--config", str(cfg), "--quiet"]) == 0
    return root, cfg


def test_out_is_a_file_or_below_a_file(sim_dir, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    for out in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        one_line_error(capsys, ["train", "--config", str(_config(tmp_path, sim_dir, out)), "--quiet"], out,
                       "is a file" if out.name == "afile" else "is a file, not a folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_corrupt_metrics_at_report_and_truncated_embeddings_at_decode(trained, tmp_path, capsys):
    root, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(root / "done", copy)
    (copy / "metrics.json").write_text("{broken")
    one_line_error(capsys, ["report", str(copy)], copy / "metrics.json", "not valid JSON")
    shutil.copy(root / "done" / "metrics.json", copy / "metrics.json")
    raw = (copy / "embeddings.h5").read_bytes()
    (copy / "embeddings.h5").write_bytes(raw[: len(raw) // 3])
    one_line_error(capsys, ["decode-frames", str(copy), "--force"], copy / "embeddings.h5", "unreadable embeddings")


def test_a_second_run_into_a_folder_in_use_is_refused(trained, tmp_path, capsys):
    root, cfg = trained
    lock = root / "done" / ".neurocine.lock"
    lock.write_text(f"pid {os.getpid()} on {os.uname().nodename} since now")  # a live holder: this process
    try:
        one_line_error(capsys, ["decode-frames", str(root / "done"), "--force"], "in use by another neurocine run",
                       f"pid {os.getpid()}")
    finally:
        lock.unlink()
    lock.write_text(f"pid 999999999 on {os.uname().nodename} since then")  # a dead holder is taken over
    assert main(["decode-frames", str(root / "done"), "--quiet"]) == 0
    assert not lock.exists()


@pytest.mark.parametrize("change, key", [({"training": {"seed": 7}}, "training.seed"),
                                         ({"model": {"model_architecture": "offset5-model"}},
                                          "model.model_architecture"),
                                         ({"model": {"temperature": 0.5}}, "model.temperature")])
def test_resume_or_reuse_with_other_settings_names_the_keys(trained, sim_dir, capsys, change, key):
    root, _ = trained
    cfg = _config(root, sim_dir, root / "done", **change)
    before = digest(root / "done")
    for extra in ([], ["--resume"]):
        one_line_error(capsys, ["train", "--config", str(cfg), "--quiet", *extra], root / "done", key,
                       "use --force")
    assert digest(root / "done") == before


def test_a_resumed_run_may_only_extend_training(trained, sim_dir, tmp_path):
    root, _ = trained
    copy = tmp_path / "done"
    shutil.copytree(root / "done", copy)
    cfg = _config(tmp_path, sim_dir, copy, model={"max_iterations": 9})
    assert main(["train", "--config", str(cfg), "--quiet", "--resume"]) == 0
    assert json.loads((copy / "metrics.json").read_text())["training"]["steps"] == 9


def test_temperature_zero_and_a_diverging_loss(sim_dir, tmp_path, capsys):
    one_line_error(capsys, ["train", "--config", str(_config(tmp_path, sim_dir, tmp_path / "t0",
                                                            model={"temperature": 0}))], "model.temperature")
    cfg = _config(tmp_path, sim_dir, tmp_path / "nan", model={"learning_rate": 1e30, "max_iterations": 30},
                  training={"checkpoint_every": 0})
    one_line_error(capsys, ["train", "--config", str(cfg), "--quiet"], "training loss became", "no model was written")
    assert not (tmp_path / "nan").exists()  # a failed first run leaves no half-made folder


# ------------------------------------------------------------------- full disks
def _mount(path: Path, size: str, readonly: bool = False) -> bool:
    path.mkdir()
    opts = f"size={size}" + (",ro" if readonly else "")
    try:
        return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                              capture_output=True).returncode == 0
    except OSError:
        return False


def _umount(path: Path):
    subprocess.run(["umount", str(path)], capture_output=True)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neurocine", *args], capture_output=True, text=True, timeout=300)


def test_disk_full_during_train_and_resume_is_one_line_not_a_crash(sim_dir, tmp_path):
    disk = tmp_path / "small"
    if not _mount(disk, "600k"):
        pytest.skip("cannot mount a small tmpfs here (needs root); the OS-level ENOSPC path is untested")
    try:
        cfg = _config(tmp_path, sim_dir, disk / "out")
        for extra in ([], ["--resume"]):
            proc = _cli("train", "--config", str(cfg), "--quiet", *extra)
            assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # not 139 (segfault)
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and "no space left on the device" in lines[0], proc.stderr[-2000:]
        leftovers = [p.name for p in (disk / "out").rglob("*") if p.name.startswith(".") and "lock" not in p.name] \
            if (disk / "out").exists() else []
        assert leftovers == []  # no partial temporary files
    finally:
        _umount(disk)


def test_disk_full_keeps_earlier_results_intact(trained, tmp_path):
    root, _ = trained
    disk = tmp_path / "small"
    keep = shutil.ignore_patterns("checkpoint*.pt", "figures", "tensorboard")
    need = sum(p.stat().st_size for p in (root / "done").iterdir() if p.is_file() and not keep(None, [p.name]))
    if not _mount(disk, f"{need // 1024 + 512}k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        out = disk / "done"
        shutil.copytree(root / "done", out, ignore=keep)
        before = digest(out)
        filler = disk / "filler"
        with open(filler, "wb") as fh:  # fill the disk
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError:
                pass
        proc = _cli("decode-frames", str(out), "--force", "--quiet")
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
        assert "no space left" in proc.stderr and "earlier results are unchanged" in proc.stderr
        assert digest(out) == before
    finally:
        _umount(disk)


def test_read_only_file_system(sim_dir, tmp_path, capsys):
    disk = tmp_path / "ro"
    if not _mount(disk, "1m", readonly=True):
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        cfg = _config(tmp_path, sim_dir, disk / "out")
        one_line_error(capsys, ["train", "--config", str(cfg), "--quiet"], disk / "out", "read-only")
    finally:
        _umount(disk)


# ------------------------------------------------- issue 19: classes found by the probe
class _RunsCode:
    """Unpickling this creates a file: the code a crafted checkpoint would run."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_loading_a_crafted_model_or_checkpoint_never_runs_code(trained, tmp_path, capsys):
    import torch

    from neurocine.embed import CEBRA
    from neurocine.errors import DataError

    root, _ = trained
    copy = tmp_path / "done"
    shutil.copytree(root / "done", copy)
    sentinel = tmp_path / "pwned"
    blob = torch.load(copy / "checkpoint.pt", weights_only=True)
    blob["payload"] = _RunsCode(sentinel)
    torch.save(blob, copy / "checkpoint.pt")
    cfg = _config(tmp_path, root.parent / "unused", copy)
    cfg_data = yaml.safe_load(cfg.read_text())
    cfg_data["dataset"]["data_dir"] = yaml.safe_load((root / "done" / "config.yaml").read_text())["dataset"]["data_dir"]
    cfg_data["model"]["max_iterations"] = 9
    cfg.write_text(yaml.safe_dump(cfg_data))
    one_line_error(capsys, ["train", "--config", str(cfg), "--quiet", "--resume"], "checkpoint.pt",
                   "refusing to load")
    torch.save({"format": "neurocine-cebra-1", "payload": _RunsCode(sentinel)}, tmp_path / "model.pt")
    with pytest.raises(DataError, match="refusing to load"):
        CEBRA.load(tmp_path / "model.pt")
    assert not sentinel.exists()


def test_results_folders_neurocine_did_not_make_are_refused(sim_dir, tmp_path, capsys):
    mine = tmp_path / "mine"
    (mine / "figures").mkdir(parents=True)
    for name in ("model.pt", "report.html", "figures/a.png", "config.yaml"):
        (mine / name).write_text("the user's own " + name)
    (mine / "config.yaml").write_text("title: my paper\n")
    before = {p: p.read_text() for p in mine.rglob("*") if p.is_file()}
    for argv in (["run", "--config", str(_config(tmp_path, sim_dir, mine))],
                 ["train", "--config", str(_config(tmp_path, sim_dir, mine))],
                 ["decode-frames", str(mine)], ["report", str(mine)]):
        one_line_error(capsys, argv, mine, "not a neurocine results folder")
    assert {p: p.read_text() for p in mine.rglob("*") if p.is_file()} == before
    # the data folder itself, a folder inside it, and an empty path
    data = tmp_path / "data"
    shutil.copytree(sim_dir, data)
    for out in (data, data / "results"):
        one_line_error(capsys, ["run", "--config", str(_config(tmp_path, data, out))], "data folder")
    one_line_error(capsys, ["run", "--config", str(_config(tmp_path, data, tmp_path / "x")), "--out", ""],
                   "output_dir", "expected a folder path")
    assert sorted(p.name for p in data.iterdir()) == sorted(p.name for p in sim_dir.iterdir())


def test_a_folder_neurocine_made_is_marked_and_reused(trained):
    from neurocine.results import MARKER

    root, _ = trained
    assert (root / "done" / MARKER).exists()


@pytest.mark.parametrize("setting, expected", [("reconstruction.patience=null", None),
                                               ("model.behavior_label=null", None)])
def test_null_settings_are_applied(setting, expected, tmp_path):
    from neurocine.cli import build_parser, resolve_config

    args = build_parser().parse_args(["train", "--set", setting])
    cfg = resolve_config(args)
    section, key = setting.split("=")[0].split(".")
    assert getattr(getattr(cfg, section), key) is expected


@pytest.mark.parametrize("argv, needles", [
    (["train", "--set", "model=0"], ("'model' is a section",)),
    (["train", "--set", "model.output_dimension=1e12"], ("model.output_dimension", "<= 4096")),
    (["train", "--bogus-flag"], ("unrecognized arguments: --bogus-flag",)),
    (["check", "{tmp}", "--batch-size", "0"], ("--batch-size: 0, expected an integer >= 1",)),
    (["simulate", "--out", "{tmp}/s", "--spontaneous-s", "nan"], ("spontaneous_s=nan",)),
    (["simulate", "--out", "{tmp}/afile"], ("afile", "is a file")),
    (["simulate", "--out", "{tmp}/" + "x" * 300], ("File name too long",)),
])
def test_bad_arguments_are_one_line(argv, needles, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    one_line_error(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv], *needles)
    assert (tmp_path / "afile").read_text() == "mine"


def test_resume_with_fewer_steps_than_done_is_refused(trained, sim_dir, tmp_path, capsys):
    root, _ = trained
    copy = tmp_path / "done"
    shutil.copytree(root / "done", copy)
    before = digest(copy)
    cfg = _config(tmp_path, sim_dir, copy, model={"max_iterations": 3})
    one_line_error(capsys, ["train", "--config", str(cfg), "--quiet", "--resume"], "checkpoint is at step 6",
                   "max_iterations=3")
    assert digest(copy) == before


def test_stage_inputs_are_checked(trained, tmp_path, capsys):
    root, _ = trained
    copy = tmp_path / "done"
    shutil.copytree(root / "done", copy)
    with h5py.File(copy / "embeddings.h5", "r+") as f:
        sid = next(iter(f))
        e = f[f"{sid}/test/embedding"]
        e[0, 0] = np.nan
    one_line_error(capsys, ["decode-frames", str(copy), "--force"], "embeddings.h5", "not a finite")
    from neurocine.data import load_template
    from neurocine.errors import DataError

    movie = np.random.default_rng(0).random((900, 4, 8))
    movie[3, 1, 1] = np.nan
    np.save(tmp_path / "movie.npy", movie)
    with pytest.raises(DataError, match="NaN/inf pixels"):
        load_template(tmp_path / "movie.npy")


def test_brainsets_rate_that_disagrees_with_the_domain_is_refused(tmp_path, capsys):
    def rate_1e9(data):
        data.calcium_traces.sampling_rate = 1e9

    path = tmp_path / "777000111.h5"
    try:
        write_brainsets_fixture(path, extra=rate_1e9)
    except Exception:  # temporaldata may refuse to build it: then write the attribute directly
        write_brainsets_fixture(path)
        with h5py.File(path, "r+") as f:
            f["calcium_traces"].attrs["sampling_rate"] = 1e9
    one_line_error(capsys, ["inspect", str(tmp_path)], path.name, "sampling_rate=1e+09 Hz", "domain")


def test_messages_from_libraries_are_one_line():
    from neurocine.cli import one_line

    assert one_line(OSError("Unable to synchronously write\n  (file write failed: errno = 28)\n")) == \
        "Unable to synchronously write; (file write failed: errno = 28)"
