"""Picture utilities: strips, sheets, grids, atomic PNG and GIF writing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFont

from styleenv.files import atomic_write as _atomic_save
from styleenv.visual import contact_sheet, grid, hstack, save_gif, save_png


def _solid(colour, size=(20, 10)):
    return Image.new("RGB", size, colour)


def test_hstack_matches_heights():
    out = hstack([_solid((255, 0, 0), (20, 10)), _solid((0, 0, 255), (5, 5))], gap=3)
    assert out.size == (20 + 3 + 10, 10)
    arr = np.asarray(out)
    assert tuple(arr[5, 0]) == (255, 0, 0)
    assert tuple(arr[5, 21]) == (255, 255, 255)  # the gap
    assert tuple(arr[5, 25]) == (0, 0, 255)
    with pytest.raises(ValueError, match="hstack needs at least one image"):
        hstack([])


def test_hstack_accepts_arrays():
    out = hstack([np.zeros((8, 8, 3), np.uint8), np.zeros((3, 8, 8), np.float32)], gap=0)
    assert out.size == (16, 8)


def test_contact_sheet_layout_and_labels():
    steps = [_solid((0, 200, 0), (30, 30)), _solid((0, 0, 200), (30, 60))]
    sheet = contact_sheet(_solid((200, 0, 0)), _solid((200, 200, 0)), steps, ["step 1", "step 2"], thumb=32)
    assert sheet.width == 4 * 32 + 5 * 6
    assert sheet.height > 32 + 12  # room for the labels
    arr = np.asarray(sheet)
    label_band = arr[6 + 32 + 2 :]
    assert (label_band < 128).any()  # some dark text was drawn
    assert contact_sheet(_solid((1, 1, 1)), _solid((2, 2, 2)), steps, thumb=16).width == 4 * 16 + 5 * 6
    with pytest.raises(ValueError, match="labels"):
        contact_sheet(_solid((1, 1, 1)), _solid((2, 2, 2)), steps, ["only one"], thumb=16)


def test_grid_with_blank_cells_and_labels():
    rows = [[_solid((255, 0, 0), (32, 32)), None], [_solid((0, 255, 0), (32, 32))]]  # square: each fills its cell
    out = grid(rows, thumb=16, gap=2, col_labels=["a", "b"], row_labels=["x", "y"])
    font = ImageFont.load_default()
    left = int(max(font.getlength("x"), font.getlength("y"))) + 4 + 2  # the row labels' column and a gap
    box = font.getbbox("Ag")
    top = int(box[3] - box[1]) + 6  # the column labels' band
    assert out.size == (left + 2 * 16 + 3 * 2, top + 2 * 16 + 3 * 2)
    arr = np.asarray(out)
    cells = arr[top:, left:]  # the labels draw only left of and above the cells
    assert np.array_equal(cells, np.asarray(grid(rows, thumb=16, gap=2)))
    red, blank, green, missing = cells[2:18, 2:18], cells[2:18, 20:36], cells[20:36, 2:18], cells[20:36, 20:36]
    assert (red == (255, 0, 0)).all() and (green == (0, 255, 0)).all()
    assert (blank == 255).all() and (missing == 255).all()  # the None cell and the short row's end: background
    assert (arr[:top] < 128).any() and (arr[:, :left] < 128).any()  # the labels were drawn
    plain = grid([[_solid((255, 0, 0)), _solid((0, 0, 255))]], thumb=16, gap=2)
    assert plain.size == (2 * 16 + 3 * 2, 16 + 2 * 2)
    with pytest.raises(ValueError, match="grid needs at least one image"):
        grid([])


def test_save_png_is_atomic_and_readable(tmp_path):
    target = tmp_path / "out" / "sheet.png"
    save_png(_solid((10, 20, 30)), target)
    assert tuple(np.asarray(Image.open(target))[0, 0]) == (10, 20, 30)
    assert [p.name for p in target.parent.iterdir()] == ["sheet.png"]  # no temp file left


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "keep.png"
    save_png(_solid((1, 2, 3)), target)

    def fail(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        _atomic_save(target, fail)
    assert tuple(np.asarray(Image.open(target))[0, 0]) == (1, 2, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_save_gif(tmp_path):
    frames = [_solid((255, 0, 0)), _solid((0, 255, 0)), _solid((0, 0, 255), (40, 20))]
    path = save_gif(frames, tmp_path / "anim.gif", duration_ms=120, loop=0)
    with Image.open(path) as gif:
        assert gif.n_frames == 3
        assert gif.size == (20, 10)
        assert gif.info["duration"] == 120
    assert [p.name for p in tmp_path.iterdir()] == ["anim.gif"]
    with pytest.raises(ValueError, match="save_gif needs at least one frame"):
        save_gif([], tmp_path / "none.gif")


def test_save_png_with_a_palette_is_smaller(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    img = Image.fromarray((np.stack([xx, yy, xx + yy], -1) * 2 + rng.integers(0, 8, (64, 64, 3))).astype(np.uint8))
    full, small = save_png(img, tmp_path / "full.png"), save_png(img, tmp_path / "small.png", colours=16)
    with Image.open(small) as pic:
        assert pic.mode == "P" and len(pic.getcolors()) <= 16 and pic.size == (64, 64)
    assert small.stat().st_size < full.stat().st_size


def test_palette_frames_make_the_same_gif_as_rgb_frames(tmp_path):
    from styleenv.visual import SequenceFolder, gif_frame

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:48, 0:64]
    frames = [Image.fromarray((np.stack([xx * k, yy * 3, xx + yy], -1) + rng.integers(0, 40, (48, 64, 3))).astype(np.uint8))
              for k in range(1, 5)]
    rgb = save_gif(frames, tmp_path / "rgb.gif").read_bytes()
    assert save_gif([gif_frame(f) for f in frames], tmp_path / "p.gif").read_bytes() == rgb
    with SequenceFolder(tmp_path / "seq", frames[0], keep=[1], steps=3) as folder:
        for step, frame in enumerate(frames[1:], 1):
            folder.add(step, frame)
        assert all(f.mode == "P" for f in folder.frames)  # a third of the memory of RGB frames
        files = folder.finish(frames[0])
    assert (tmp_path / "seq" / "sequence.gif").read_bytes() == rgb and files["gif"].endswith("sequence.gif")
