"""The ``styleenv`` console command's shared behaviour and the first-run demo."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from styleenv_cli.main import main


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "usage" in out


def test_demo_writes_steps_sheet_and_gif(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--size", "32", "--steps", "3"]) == 0
    folder = tmp_path / "demo"
    assert sorted(p.name for p in folder.iterdir()) == ["sequence.gif", "sheet.png", "step-01.png", "step-02.png",
                                                        "step-03.png"]
    assert Image.open(folder / "step-02.png").size == (32, 32)
    assert Image.open(folder / "sequence.gif").n_frames == 4  # content, then 3 steps
    assert Image.open(folder / "sheet.png").width > 5 * 32  # content | style | 3 steps, labelled
    assert "rewards by step" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_demo_missing_checkpoint_exits_2(tmp_path, capsys):
    out = tmp_path / "new"
    assert main(["demo", "--out", str(out), "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "none.pt" in capsys.readouterr().err
    assert not out.exists()  # checked before the output folder is made


def test_demo_negative_seed_exits_2(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "new"), "--seed", "-1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["styleenv demo: error: --seed must be at least 0, got -1"]


def test_demo_bad_steps_exit_2_with_one_line(tmp_path):
    proc = subprocess.run(  # the default --out is relative: a regression writes under tmp_path, not the repository
        [sys.executable, "-m", "styleenv", "demo", "--steps", "0"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["styleenv demo: error: --steps must be at least 1, got 0"]
    assert not list(tmp_path.iterdir())  # refused before the output folder is made


def test_warnings_are_one_line_naming_the_command(tmp_path):
    proc = subprocess.run(  # the procedural images' warnings, then the bad agent's error
        [sys.executable, "-m", "styleenv", "evaluate", "--agents", "nope", "--out", str(tmp_path / "eval")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "styleenv evaluate: warning: no content images were given" in lines[0]
    assert all(line.startswith("styleenv evaluate: ") for line in lines), lines



@pytest.mark.parametrize(("argv", "message"), [
    (["demo", "--size", "100000", "--out", "{tmp}/out"],
     "styleenv demo: error: --size must lie in 16..4096, got 100000"),
    (["export", "--onnx", "{tmp}/m.onnx", "--verify-size", "100000"],
     "styleenv export: error: --verify-size must be 0 (no check) or lie in 16..4096, got 100000"),
])  # fmt: skip
def test_huge_sizes_are_one_line_errors(argv, message, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [message]
    assert not list(tmp_path.iterdir())  # refused before anything is written
