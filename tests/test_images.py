"""Image loading, conversion, resizing and folder listing (tiny images written into tmp_path)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from styleenv.images import IMAGE_EXTENSIONS, ImageLoadError, as_batch, list_images, load_image, open_checked
from styleenv.pixels import (
    chw_uint8_to_tensor,
    fit_max_side,
    pil_to_tensor,
    resize_random_crop,
    resize_shorter_center_crop,
    tensor_to_pil,
    to_chw_uint8,
)


def _pixels(img: Image.Image) -> np.ndarray:
    assert img.mode == "RGB"
    return np.asarray(img)


def _gradient(width: int = 32, height: int = 24) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    arr = np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)), np.full((height, width), 90.0)], -1)
    return Image.fromarray(arr.astype(np.uint8))


def _png_rgb16(path: Path, arr: np.ndarray) -> None:
    """Write a 16-bit-per-channel RGB PNG by hand (Pillow cannot write one from an array)."""
    height, width, _ = arr.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + arr[row].astype(">u2").tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ------------------------------------------------------------------------------------------------
# Files and modes
# ------------------------------------------------------------------------------------------------


def test_rgb_png_round_trip(tmp_path):
    img = _gradient()
    img.save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert np.array_equal(_pixels(out), np.asarray(img))
    assert np.array_equal(_pixels(load_image(str(tmp_path / "a.png"))), np.asarray(img))


def test_grey_becomes_three_equal_channels(tmp_path):
    Image.fromarray(np.array([[0, 100], [200, 255]], np.uint8)).save(tmp_path / "g.png")
    arr = _pixels(load_image(tmp_path / "g.png"))
    assert arr.shape == (2, 2, 3)
    assert np.array_equal(arr[..., 0], [[0, 100], [200, 255]])
    assert np.array_equal(arr[..., 0], arr[..., 2])


def test_rgba_is_composited_on_white(tmp_path):
    arr = np.zeros((2, 2, 4), np.uint8)
    arr[0, 0] = (255, 0, 0, 255)  # opaque red
    arr[0, 1] = (255, 0, 0, 0)  # fully transparent
    arr[1, 0] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    Image.fromarray(arr).save(tmp_path / "t.png")
    out = _pixels(load_image(tmp_path / "t.png"))
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)
    assert all(abs(int(v) - 127) <= 2 for v in out[1, 0])


def test_la_is_composited_on_white():
    img = Image.new("LA", (2, 1), (0, 0))
    assert tuple(_pixels(load_image(img))[0, 0]) == (255, 255, 255)
    # premultiplied La: stored grey 64 at half alpha is grey 128, half over white 191
    assert tuple(_pixels(load_image(Image.frombytes("La", (1, 1), bytes([64, 128]))))[0, 0]) == (191, 191, 191)


def test_unconvertible_mode_raises_naming_it(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise ValueError("conversion not supported")

    monkeypatch.setattr(Image.Image, "convert", refuse)  # as Pillow does for modes it cannot convert
    for mode in ("LA", "HSV"):
        with pytest.raises(ImageLoadError, match=f"mode '{mode}'"):
            load_image(Image.new(mode, (2, 2)))


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.info["transparency"] = 0
    img.save(tmp_path / "p.png", transparency=0)
    out = _pixels(load_image(tmp_path / "p.png"))
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[0, 1]) == (200, 100, 50)


def test_palette_without_transparency(tmp_path):
    img = Image.new("P", (1, 1))
    img.putpalette([10, 20, 30] + [0] * 765)
    img.save(tmp_path / "p.gif")
    assert tuple(_pixels(load_image(tmp_path / "p.gif"))[0, 0]) == (10, 20, 30)


def test_cmyk(tmp_path):
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.tif")  # pure red in CMYK
    out = _pixels(load_image(tmp_path / "c.tif"))
    assert tuple(out[0, 0]) == (255, 0, 0)


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 32768, 65535, 257]], np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    out = _pixels(load_image(tmp_path / "g16.png"))[0, :, 0]
    assert out[0] == 0
    assert abs(int(out[1]) - 128) <= 1
    assert out[2] == 255
    assert out[3] == 1


def test_sixteen_bit_grey_tiff(tmp_path):
    Image.fromarray(np.array([[65535, 32768]], np.uint16)).save(tmp_path / "g16.tif")
    out = _pixels(load_image(tmp_path / "g16.tif"))[0, :, 0]
    assert out[0] == 255 and abs(int(out[1]) - 128) <= 1


def test_sixteen_bit_rgb_png(tmp_path):
    arr = np.zeros((1, 2, 3), np.uint16)
    arr[0, 0] = (65535, 32768, 0)
    arr[0, 1] = (256 * 64, 65535, 65535)
    _png_rgb16(tmp_path / "rgb16.png", arr)
    out = _pixels(load_image(tmp_path / "rgb16.png")).astype(int)
    assert out[0, 0, 0] == 255 and abs(out[0, 0, 1] - 128) <= 1 and out[0, 0, 2] == 0
    assert abs(out[0, 1, 0] - 64) <= 1 and out[0, 1, 1] == 255


def test_int32_and_float_modes():
    wide = Image.fromarray(np.array([[0, 65535]], np.int32))
    assert list(_pixels(load_image(wide))[0, :, 0]) == [0, 255]
    small = Image.fromarray(np.array([[0, 200]], np.int32))
    assert list(_pixels(load_image(small))[0, :, 0]) == [0, 200]
    flt = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32))
    assert list(_pixels(load_image(flt))[0, :, 0]) == [0, 128, 255]


@pytest.mark.parametrize(
    "name, data",
    [
        ("text.jpg", b"this is not an image at all"),
        ("empty.png", b""),
        ("random.webp", bytes(range(256)) * 4),
    ],
)
def test_non_image_files_raise_naming_the_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImageLoadError, match=name):
        load_image(path)
    with pytest.raises(ImageLoadError, match=name):
        open_checked(path)


def test_truncated_png_raises_at_load(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="cut.png") as info:
        load_image(tmp_path / "cut.png")
    assert "truncated" in str(info.value) or "corrupt" in str(info.value)


def test_truncated_jpeg_raises_at_load(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="cut.jpg"):
        load_image(tmp_path / "cut.jpg")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageLoadError, match="nope.png"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="directory"):
        load_image(tmp_path)


def test_image_load_error_is_a_value_error(tmp_path):
    err = ImageLoadError(tmp_path / "x.png", "broken")
    assert isinstance(err, ValueError)
    assert "x.png" in str(err) and "broken" in str(err)


def test_decompression_bomb_limit(tmp_path):
    Image.new("RGB", (20, 20)).save(tmp_path / "big.png")
    with pytest.raises(ImageLoadError, match="big.png.*decompression bomb"):
        load_image(tmp_path / "big.png", max_pixels=399)
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        open_checked(tmp_path / "big.png", max_pixels=100)
    assert load_image(tmp_path / "big.png", max_pixels=400).size == (20, 20)
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(np.zeros((20, 20, 3), np.uint8), max_pixels=100)


def test_pillow_hard_limit_is_reported_as_image_load_error(tmp_path, monkeypatch):
    Image.new("RGB", (20, 20)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # Pillow refuses above 2 * 50 pixels
    with pytest.raises(ImageLoadError, match="big.png"):
        load_image(tmp_path / "big.png", max_pixels=10**6)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (4, 2), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert load_image(tmp_path / "rot.jpg").size == (2, 4)


# ------------------------------------------------------------------------------------------------
# Arrays and tensors
# ------------------------------------------------------------------------------------------------


def test_arrays_of_every_layout():
    hwc = np.asarray(_gradient(8, 6))
    assert np.array_equal(_pixels(load_image(hwc)), hwc)
    assert np.array_equal(_pixels(load_image(hwc.transpose(2, 0, 1).copy())), hwc)
    assert np.array_equal(_pixels(load_image(hwc.astype(np.float32) / 255.0)), hwc)
    assert np.array_equal(_pixels(load_image(hwc.astype(np.uint16) * 257)), hwc)
    grey = hwc[..., 0]
    assert np.array_equal(_pixels(load_image(grey))[..., 1], grey)
    rgba = np.concatenate([hwc, np.full((6, 8, 1), 255, np.uint8)], axis=2)
    assert np.array_equal(_pixels(load_image(rgba)), hwc)


def test_float_array_out_of_range_raises():
    with pytest.raises(ImageLoadError, match=r"\[0, 1\]"):
        load_image(np.full((4, 4, 3), 200.0, np.float32))
    with pytest.raises(ImageLoadError, match="NaN"):
        load_image(np.full((4, 4, 3), np.nan, np.float32))


def test_bad_array_shapes_raise():
    with pytest.raises(ImageLoadError, match="shape"):
        load_image(np.zeros((5, 5, 5), np.uint8))
    with pytest.raises(ImageLoadError, match="shape"):
        load_image(np.zeros((4,), np.uint8))
    with pytest.raises(TypeError):
        load_image(42)


def test_tensors():
    arr = np.asarray(_gradient(8, 6))
    t = torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0
    assert np.array_equal(_pixels(load_image(t)), arr)
    assert np.array_equal(_pixels(load_image(t[None])), arr)
    with pytest.raises(ImageLoadError, match="batch"):
        load_image(torch.rand(2, 3, 4, 4))


def test_tensor_errors_name_the_shape_and_dtype_given():
    with pytest.raises(ImageLoadError, match=r"\(C, H, W\) with C in 1, 3, 4, got shape \(45, 64, 3\)"):
        load_image(torch.zeros(45, 64, 3, dtype=torch.uint8))
    with pytest.raises(ImageLoadError, match=r"unsupported dtype torch.int64 \(use uint8, uint16, bool or float"):
        load_image(torch.zeros(3, 4, 4, dtype=torch.int64))
    assert _pixels(load_image(torch.full((1, 2, 2), 65535, dtype=torch.uint16))).min() == 255


@pytest.mark.parametrize(
    "bad, problem",
    [
        (torch.full((3, 2, 2), float("nan")), "NaN or infinity"),
        (torch.tensor([0.5, float("inf"), 0.5]).view(3, 1, 1), "NaN or infinity"),
        (torch.zeros(1, 3, 0, 0), r"empty image of shape \(1, 3, 0, 0\)"),
        (torch.zeros(3, 0, 4), r"empty image of shape \(3, 0, 4\)"),
        (torch.zeros(2, 5, 4, 4), r"got shape \(2, 5, 4, 4\)"),
    ],
)
def test_as_batch_refuses_float_tensors_as_load_image_does(bad, problem):
    with pytest.raises(ImageLoadError, match=problem):
        as_batch(bad)


def test_as_batch_converts_grey_and_rgba_float_tensors_as_load_image_does():
    rgba = np.random.default_rng(0).integers(0, 256, (4, 5, 6), dtype=np.uint8)  # (C, H, W)
    for pixels in (rgba, rgba[:1]):  # RGBA, grey
        expected = as_batch(torch.from_numpy(pixels))  # uint8: through load_image, (1, 3, 5, 6)
        floats = torch.from_numpy(pixels) / 255.0
        for tensor, n in ((floats, 1), (torch.stack([floats] * 2), 2)):
            got = as_batch(tensor)
            assert got.shape == (n, 3, 5, 6)
            torch.testing.assert_close(got, expected.expand(n, -1, -1, -1), atol=1 / 255 + 1e-6, rtol=0)
    unclamped = torch.tensor([-0.2, 0.5, 1.3]).view(1, 3, 1, 1)  # fed back by the stylizer as it is
    assert torch.equal(as_batch(unclamped), unclamped)


def test_tensor_conversions_round_trip():
    img = _gradient(10, 7)
    chw = to_chw_uint8(img)
    assert chw.shape == (3, 7, 10) and chw.dtype == np.uint8
    t = chw_uint8_to_tensor(chw)
    assert t.shape == (3, 7, 10) and t.dtype == torch.float32 and float(t.max()) <= 1.0
    assert chw_uint8_to_tensor(np.stack([chw, chw])).shape == (2, 3, 7, 10)
    assert np.array_equal(np.asarray(tensor_to_pil(t)), np.asarray(img))
    batch = pil_to_tensor(img)
    assert batch.shape == (1, 3, 7, 10)
    assert np.array_equal(np.asarray(tensor_to_pil(batch)), np.asarray(img))
    with pytest.raises(TypeError):
        chw_uint8_to_tensor(chw.astype(np.float32))


def test_tensor_to_pil_clamps_and_rounds():
    t = torch.tensor([-0.5, 0.5, 1.7]).view(3, 1, 1)
    assert tuple(np.asarray(tensor_to_pil(t))[0, 0]) == (0, 128, 255)


# ------------------------------------------------------------------------------------------------
# Resizing and cropping
# ------------------------------------------------------------------------------------------------


def test_already_sized_image_passes_unchanged():
    img = _gradient(16, 16)
    out = resize_shorter_center_crop(img, 16)
    assert np.array_equal(np.asarray(out), np.asarray(img))


def test_shorter_side_and_centre_crop():
    arr = np.zeros((20, 60, 3), np.uint8)
    arr[:, 20:40] = 255  # a white band in the middle third
    out = np.asarray(resize_shorter_center_crop(Image.fromarray(arr), 10))
    assert out.shape == (10, 10, 3)
    assert out.mean() > 240  # the centre crop is all band
    tall = resize_shorter_center_crop(_gradient(7, 30), 12)
    assert tall.size == (12, 12)


def test_random_crop_upscales_tiny_images_and_is_seeded():
    tiny = _gradient(5, 3)
    a = resize_random_crop(tiny, 8, 16, np.random.default_rng(1))
    assert a.size == (16, 16)
    b = resize_random_crop(tiny, None, 16, np.random.default_rng(1))
    assert b.size == (16, 16)
    big = _gradient(64, 64)
    c1 = resize_random_crop(big, 48, 16, np.random.default_rng(7))
    c2 = resize_random_crop(big, 48, 16, np.random.default_rng(7))
    assert np.array_equal(np.asarray(c1), np.asarray(c2))
    crops = {np.asarray(resize_random_crop(big, 48, 16, np.random.default_rng(s))).tobytes() for s in range(8)}
    assert len(crops) > 1


def test_fit_max_side():
    img = _gradient(40, 20)
    assert fit_max_side(img, 10).size == (10, 5)
    assert fit_max_side(img, 100) is img
    assert fit_max_side(img, None) is img


# ------------------------------------------------------------------------------------------------
# Folders
# ------------------------------------------------------------------------------------------------


def test_list_images_recursive_sorted_case_insensitive(tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for rel in ["z.PNG", "a.jpg", "b/deep/c.JpEg", "b/x.tiff", "notes.txt", ".hidden/h.png", "._mac.jpg", "b/d.WEBP"]:
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()  # a folder named like an image is not an image
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == ["a.jpg", "b/d.WEBP", "b/deep/c.JpEg", "b/x.tiff", "z.PNG"]
    assert ".tif" in IMAGE_EXTENSIONS
    with pytest.raises(NotADirectoryError):
        list_images(tmp_path / "a.jpg")
