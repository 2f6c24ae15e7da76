"""Without the optional extras, video, export and the ONNX runtime fail with one line naming the
extra; training, evaluation, the demo and stylising still work, with one warning line naming the
extra where something is left out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from styleenv_cli.main import main

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("tensorboard", "matplotlib", "imageio", "imageio_ffmpeg", "moviepy", "onnx", "onnxruntime")


@pytest.fixture()
def picture(tmp_path: Path) -> Path:
    Image.new("RGB", (16, 16), (120, 60, 30)).save(tmp_path / "x.png")
    return tmp_path / "x.png"


def _error(argv: list[str], capsys) -> str:
    rc = main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, lines
    return lines[0]


def test_video_without_the_video_extra(monkeypatch, picture: Path, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as if not installed
    (tmp_path / "clip.mp4").write_bytes(b"")
    line = _error(["stylize", str(tmp_path / "clip.mp4"), str(picture), "--out", str(tmp_path / "out")], capsys)
    assert "pip install 'styleenv[video]'" in line and not (tmp_path / "out").exists()


def test_export_without_the_onnx_extra(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    line = _error(["export", "--onnx", str(tmp_path / "m.onnx")], capsys)
    assert "pip install 'styleenv[onnx]'" in line and not (tmp_path / "m.onnx").exists()


def test_onnx_runtime_without_onnxruntime(monkeypatch, picture: Path, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    line = _error(["stylize", str(picture), str(picture), "--runtime", "onnx", "--onnx", str(tmp_path / "m.onnx"),
                   "--out", str(tmp_path / "out")], capsys)
    assert "pip install 'styleenv[onnx]'" in line


def test_export_bad_arguments(tmp_path: Path, capsys) -> None:
    assert "is a folder" in _error(["export", "--onnx", str(tmp_path)], capsys)
    assert "either" in _error(["export", "--onnx", str(tmp_path / "m.onnx"), "--release", str(tmp_path),
                               "--checkpoint", str(tmp_path / "c.pt")], capsys)
    assert "--verify-size" in _error(["export", "--onnx", str(tmp_path / "m.onnx"), "--verify-size", "3"], capsys)
    assert "actor.pth.tar" in _error(["export", "--onnx", str(tmp_path / "m.onnx"), "--release", str(tmp_path)], capsys)


def _without(modules: tuple[str, ...], argv: list[str]) -> subprocess.CompletedProcess:
    """``styleenv ARGV`` in a fresh Python where ``modules`` fail to import, as if not installed
    (a fresh process: a library imported earlier in this one keeps what it found)."""
    code = ("import sys\n"
            "for name in sys.argv[1].split(','):\n"
            "    sys.modules[name] = None\n"
            "from styleenv_cli.main import main\n"
            "sys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, ",".join(modules), *argv], capture_output=True, text=True,
                          cwd=ROOT)


def _warnings(stderr: str) -> list[str]:
    """The warning lines of ``stderr``, less those about the built-in images (the runs here use them)."""
    return [line for line in stderr.splitlines() if "warning:" in line and "procedural" not in line]


def test_train_and_resume_without_tensorboard(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train = ["train", "--config", "configs/tiny.toml", "--output", str(out), "--set", "total_steps=4"]
    resume = ["train", "--output", str(out), "--set", "total_steps=6", "--resume"]
    for argv in (train, resume):
        proc = _without(("tensorboard",), argv)
        assert proc.returncode == 0, proc.stderr
        lines = _warnings(proc.stderr)
        assert len(lines) == 1 and "pip install 'styleenv[train]'" in lines[0], lines
    assert (out / "final.pt").is_file() and not (out / "tb").exists()
    assert '"num_timesteps": 6' in (out / "checkpoints" / "last.json").read_text()


def test_every_module_imports_without_the_extras() -> None:
    code = ("import importlib, pkgutil, sys\n"
            f"for name in {OPTIONAL!r}:\n"
            "    sys.modules[name] = None\n"
            "for package in ('styleenv', 'agents', 'styleenv_cli'):\n"
            "    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + '.'):\n"
            "        if not info.name.endswith('__main__'):\n"
            "            importlib.import_module(info.name)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]


def _plot_lines(argv: list[str], out: Path, capsys) -> list[str]:
    """Run ``styleenv ARGV`` (writing into ``out``): its stderr lines about plots, once the table is written."""
    assert main([*argv, "--out", str(out)]) == 0
    assert (out / "table.md").is_file() and not (out / "plots").exists()
    return [line for line in capsys.readouterr().err.splitlines() if "plots" in line]


def test_evaluate_without_matplotlib_skips_the_plots(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    a, b = tmp_path / "a", tmp_path / "b"
    evaluate = ["evaluate", "--agents", "identity", "--sizes", "32", "--steps", "2", "--limit-contents", "1",
                "--limit-styles", "1", "--quiet"]
    assert _plot_lines([*evaluate, "--no-plots"], b, capsys) == []
    for argv, out in ((evaluate, a), (["evaluate", "--report-only"], a),
                      (["evaluate", "--report-only", "--merge", str(a), str(b)], tmp_path / "merged")):
        lines = _plot_lines(argv, out, capsys)
        assert len(lines) == 1 and "pip install 'styleenv[plots]'" in lines[0], lines


def test_demo_and_stylize_write_the_gif_without_any_extra(monkeypatch, picture: Path, tmp_path: Path) -> None:
    for name in OPTIONAL:
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["demo", "--size", "32", "--steps", "2", "--out", str(tmp_path / "demo")]) == 0
    assert main(["stylize", str(picture), str(picture), "--steps", "2", "--out", str(tmp_path / "out")]) == 0
    for gif in (tmp_path / "demo" / "demo" / "sequence.gif", tmp_path / "out" / "x__x" / "sequence.gif"):
        assert Image.open(gif).format == "GIF" and Image.open(gif).n_frames > 1  # PIL writes it
