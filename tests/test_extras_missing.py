"""Without the optional extras, video, export and the ONNX runtime fail with one line naming the extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

from styleenv_cli.main import main


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
