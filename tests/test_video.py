"""Videos: ``styleenv stylize clip.mp4 painting.png`` writes videos and frame folders; flicker reduction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import need

need("imageio_ffmpeg", "video")

import imageio.v2 as imageio  # noqa: E402

from agents.video import FrameChange, TemporalSmoother  # noqa: E402
from styleenv_cli.main import main  # noqa: E402


def _clip(path: Path, frames: int = 6, w: int = 32, h: int = 24, noise: float = 6.0) -> Path:
    """A still scene with sensor noise and a bright square moving across it."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    scene = np.stack([xx / w, yy / h, 0.5 + 0 * xx], axis=-1) * 200 + 20
    writer = imageio.get_writer(path, format="FFMPEG", fps=5, codec="libx264", quality=10, macro_block_size=2,
                                ffmpeg_log_level="error")
    for t in range(frames):
        frame = scene + rng.normal(0, noise, scene.shape)
        frame[4:10, 2 + 4 * t : 8 + 4 * t] = 250
        writer.append_data(np.clip(frame, 0, 255).astype(np.uint8))
    writer.close()
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("video")
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(root / "painting.png")
    (root / "broken.mp4").write_bytes(b"\x00\x01 this is no video")
    return {"clip": _clip(root / "clip.mp4"), "style": root / "painting.png", "broken": root / "broken.mp4"}


def run(argv: list, capsys) -> tuple[int, str, str]:
    rc = main(["stylize", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_video_writes_kept_steps_as_videos_and_frame_folders(inputs, tmp_path: Path, capsys) -> None:
    rc, out, err = run([inputs["clip"], inputs["style"], "--steps", 2, "--keep", 1, 2, "--out", tmp_path, "--json"],
                       capsys)
    assert rc == 0, err
    (video,) = json.loads(out)["videos"]
    assert video["frames"] == 6 and Path(video["folder"]).name == "clip__painting"
    for k in ("1", "2"):
        frames = sorted(Path(video["frame_folders"][k]).iterdir())
        assert [f.name for f in frames] == [f"frame-{i:06d}.png" for i in range(1, 7)]
        assert Image.open(frames[0]).size == (32, 24)
        reader = imageio.get_reader(video["videos"][k], format="FFMPEG")
        assert sum(1 for _ in reader) == 6
        reader.close()
    assert video["flicker_input"] > 0 and set(video["flicker_output"]) == {"1", "2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip__painting"]  # no temporaries left


def test_temporal_option_reduces_flicker(inputs, tmp_path: Path, capsys) -> None:
    flicker = {}
    for strength in (0, 0.8):
        rc, out, err = run([inputs["clip"], inputs["style"], "--steps", 2, "--temporal", strength,
                            "--out", tmp_path / str(strength), "--json"], capsys)
        assert rc == 0, err
        flicker[strength] = json.loads(out)["videos"][0]["flicker_output"]["2"]
    assert flicker[0.8] < 0.7 * flicker[0]


def test_smoother_keeps_still_parts_and_follows_moving_ones() -> None:
    smoother = TemporalSmoother(0.9, sigma=0.04)
    still = torch.full((1, 3, 4, 4), 0.5)
    assert smoother.stillness(still) is None  # first frame
    moved = still.clone()
    moved[..., :2] = 1.0  # the left half of the content changes
    weight = smoother.stillness(moved)
    out = TemporalSmoother.apply(torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), weight)
    torch.testing.assert_close(out[..., 2:], torch.full((1, 3, 4, 2), 0.1))  # still: 90 % of the previous frame
    assert float(out[..., :2].min()) > 0.999  # moving: the new frame
    meter = FrameChange()
    for value in (0.0, 0.5, 0.5):
        meter.add(torch.full((1, 3, 2, 2), value))
    assert meter.mean == pytest.approx(0.25 * 255)


def test_unreadable_video_exits_2_with_one_line(inputs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc, _, err = run([inputs["broken"], inputs["style"], "--steps", 1, "--out", out], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "cannot read video" in lines[0] and "broken.mp4" in lines[0], err
    assert not out.exists()
    (tmp_path / "folder.mp4").mkdir()
    rc, _, err = run([tmp_path / "folder.mp4", inputs["style"], "--steps", 1, "--out", out], capsys)
    assert rc == 2 and "folder.mp4: a folder, not a video file" in err and not out.exists()


def test_skip_bad_leaves_out_an_unreadable_style(inputs, tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    argv = [inputs["clip"], text, inputs["style"], "--steps", 1, "--alpha", 0.5, "--out", tmp_path / "out", "--json"]
    rc, _, err = run(argv, capsys)
    assert rc == 2 and "notes.png" in err
    rc, out, err = run(argv + ["--skip-bad"], capsys)
    assert rc == 0, err
    (video,) = json.loads(out)["videos"]
    assert Path(video["folder"]).name == "clip__painting-alpha0.5"


def test_rerun_with_other_temporal_is_refused_not_skipped(inputs, tmp_path: Path, capsys) -> None:
    argv = [inputs["clip"], inputs["style"], "--steps", 1, "--out", tmp_path]
    assert run(argv, capsys)[0] == 0
    rc, _, err = run(argv + ["--temporal", 0.5], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "--temporal 0.0 then, 0.5 now" in lines[0] and "--overwrite" in lines[0], err
    rc, out, err = run(argv, capsys)  # the same command again: a quick skip
    assert rc == 0 and "skipped" in out
    rc, out, err = run(argv + ["--temporal", 0.5, "--overwrite", "--json"], capsys)
    assert rc == 0, err
    assert json.loads(Path(json.loads(out)["videos"][0]["options"]).read_text())["temporal"] == 0.5
