"""The ``styleenv`` console command's shared behaviour and the first-run demo."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from styleenv.cli import main


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "usage" in out


def test_demo_writes_a_strip(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--size", "32", "--steps", "3"]) == 0
    strip = Image.open(tmp_path / "demo-strip.png")
    assert strip.size == (5 * 32 + 4 * 4, 32)  # content | style | 3 steps, 4 px gaps
    assert "rewards by step" in capsys.readouterr().out


def test_demo_bad_steps_exit_2_with_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "styleenv.cli", "demo", "--steps", "0"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["styleenv demo: error: --steps must be at least 1, got 0"]
