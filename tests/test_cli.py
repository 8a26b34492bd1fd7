"""The command line: simulate -> inspect/check, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neurocine.cli import main


def test_simulate_then_inspect_prints_seed_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["simulate", "--out", str(out), "--sessions", "2", "--neurons", "12", "18",
                 "--frame-size", "16", "32", "--grating-repeats", "1", "--spontaneous-s", "2"]) == 0
    assert "wrote 2 kirby sessions" in capsys.readouterr().out
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "df_over_f shape: (" in text and ", 12)" in text and "sampling rate: 30.00 Hz" in text
    assert "Total sessions loaded: 2" in text
    assert "Total neurons: 30" in text
    assert "Average neurons per session: 15.0" in text
    assert "natural_movie_one (10 repeats, 9000 samples)" in text


def test_check_prints_batches(sim_dir, capsys):
    assert main(["check", str(sim_dir)]) == 0
    text = capsys.readouterr().out
    assert "Batch 1: neural=torch.Size([4, 20]), time=torch.Size([4])" in text
    assert "All checks passed" in text


def test_skip_bad_lists_skipped(tmp_path, sim_dir, capsys):
    import shutil

    for p in sorted(sim_dir.glob("*.h5"))[:1]:
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "999.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert main(["inspect", str(tmp_path)]) == 2
    assert "999.h5" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path), "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "999.h5" in captured.err
    assert "Total sessions loaded: 1" in captured.out


@pytest.mark.parametrize("args, expected", [
    (["inspect", "/definitely/not/here"], "data directory not found"),
    (["check", "{tmp}", "--max-sessions", "0"], "--max_sessions: 0, expected an integer >= 1"),
    (["inspect", "{tmp}"], "no files matching"),
])
def test_errors_are_one_line_exit_2_no_traceback(tmp_path, args, expected):
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "neurocine", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("neurocine: error:")
