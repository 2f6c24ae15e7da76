"""ImageSource: folders, lists, in-memory images, the procedural fallback, bad files, seeding."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from styleenv.data import ImageSource
from styleenv.images import ImageLoadError


def _crop(src: ImageSource, rng: np.random.Generator, load_size, crop_size) -> np.ndarray:
    return src.sample_named_crop(rng, load_size, crop_size)[0]


def _write(path, seed: int, size=(24, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    _write(root / "a.png", 0)
    _write(root / "nested" / "deeper" / "b.JPG", 1)
    _write(root / "nested" / "c.Png", 2, size=(8, 5))  # smaller than the crop
    (root / "readme.txt").write_text("not an image")
    return root


def test_folder_is_searched_recursively(folder):
    src = ImageSource(folder, kind="style")
    assert len(src) == 3
    assert [src.name(i) for i in range(3)] == ["a.png", "c.Png", "b.JPG"]  # sorted by relative path
    assert src.get(0).mode == "RGB" and src.get(0).size == (24, 16)
    assert "3 style images" in repr(src)


def test_empty_folder_raises_at_construction_naming_it(tmp_path):
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="empty_folder"):
        ImageSource(empty)


def test_empty_list_and_missing_path_raise(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        ImageSource([])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ImageSource(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="kind"):
        ImageSource(None, kind="painting")
    with pytest.raises(TypeError):
        ImageSource(3.5)


def test_bad_file_raises_at_construction_naming_it(folder):
    (folder / "nested" / "broken.jpg").write_bytes(b"definitely not a jpeg")
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        ImageSource(folder)


def test_skip_bad_images_warns_and_skips(folder):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.warns(UserWarning, match="broken.png"):
        src = ImageSource(folder, skip_bad_images=True)
    assert len(src) == 3
    assert "broken.png" not in [src.name(i) for i in range(len(src))]


def test_all_bad_raises_even_when_skipping(tmp_path):
    (tmp_path / "x.png").write_bytes(b"nope")
    (tmp_path / "y.jpg").write_bytes(b"nope")
    with pytest.warns(UserWarning):
        with pytest.raises(ValueError, match="could be read"):
            ImageSource(tmp_path, skip_bad_images=True)


def test_truncated_file_found_at_use_names_the_file(tmp_path):
    good = _write(tmp_path / "good.png", 0)
    _write(tmp_path / "full.jpg", 1, size=(64, 64))
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "full.jpg").unlink()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])  # header intact: passes the cheap check
    src = ImageSource([tmp_path / "cut.jpg", good])
    assert len(src) == 2
    with pytest.raises(ImageLoadError, match="cut.jpg"):
        src.get(0)

    skipping = ImageSource([tmp_path / "cut.jpg", good], skip_bad_images=True)
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="cut.jpg"):
        for _ in range(10):
            _crop(skipping, rng, load_size=32, crop_size=16)
    assert len(skipping) == 1

    alone = ImageSource([tmp_path / "cut.jpg"], skip_bad_images=True)  # the last image goes too
    with pytest.warns(UserWarning), pytest.raises(ImageLoadError, match="cut.jpg.*no readable content image is left"):
        _crop(alone, rng, load_size=32, crop_size=16)


def test_oversized_file_is_refused(tmp_path):
    _write(tmp_path / "big.png", 0, size=(30, 30))
    with pytest.raises(ImageLoadError, match="big.png"):
        ImageSource(tmp_path, max_pixels=500)


def test_sample_named_crop_shape_and_seeding(folder):
    src = ImageSource(folder)
    first = [_crop(src, np.random.default_rng(3), load_size=32, crop_size=16) for _ in range(2)]
    assert first[0].shape == (3, 16, 16) and first[0].dtype == np.uint8
    assert np.array_equal(first[0], first[1])
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    seq_a = [_crop(src, rng_a, 32, 16) for _ in range(6)]
    fresh = ImageSource(folder)  # a new pool (empty cache) gives the same stream
    seq_b = [_crop(fresh, rng_b, 32, 16) for _ in range(6)]
    assert all(np.array_equal(a, b) for a, b in zip(seq_a, seq_b))
    rng_c = np.random.default_rng(12)
    seq_c = [_crop(src, rng_c, 32, 16) for _ in range(6)]
    assert not all(np.array_equal(a, c) for a, c in zip(seq_a, seq_c))


def test_tiny_images_are_upscaled_for_the_crop(tmp_path):
    _write(tmp_path / "tiny.png", 0, size=(5, 3))
    src = ImageSource(tmp_path)
    assert _crop(src, np.random.default_rng(0), load_size=8, crop_size=16).shape == (3, 16, 16)
    assert _crop(src, np.random.default_rng(0), load_size=None, crop_size=16).shape == (3, 16, 16)


def test_in_memory_list_and_single_images(folder):
    arr = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    pil = Image.fromarray(arr)
    tensor = torch.rand(3, 9, 9)
    src = ImageSource([pil, arr, tensor, folder / "a.png"])
    assert len(src) == 4
    assert [src.name(i) for i in (0, 3)] == ["content-0", "a.png"]
    assert np.array_equal(np.asarray(src.get(1)), arr)
    assert len(ImageSource(arr)) == 1
    assert len(ImageSource(folder / "a.png")) == 1
    assert len(ImageSource(str(folder / "a.png"))) == 1


def test_bad_in_memory_image_raises_or_is_skipped():
    bad = np.full((4, 4, 3), 7.0, np.float32)  # float outside [0, 1]
    good = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ImageLoadError):
        ImageSource([good, bad])
    with pytest.warns(UserWarning, match="#1"):
        assert len(ImageSource([good, bad], skip_bad_images=True)) == 1


def test_pinned(folder):
    src = ImageSource(folder)
    out = src.pinned(folder / "a.png", 12)
    assert out.shape == (3, 12, 12) and out.dtype == np.uint8
    assert np.array_equal(src.pinned(0, 12), out)
    square = np.random.default_rng(0).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    assert np.array_equal(src.pinned(square, 12), square.transpose(2, 0, 1))  # already sized: exact
    with pytest.raises(ImageLoadError, match="missing.png"):
        src.pinned(folder / "missing.png", 12)


def test_procedural_fallback_warns_and_is_deterministic():
    with pytest.warns(UserWarning, match="procedural"):
        src = ImageSource(None, kind="style", procedural_count=3, procedural_size=32)
    assert len(src) == 3 and "procedural" in repr(src)
    assert src.name(2) == "procedural-style-2"
    with pytest.warns(UserWarning):
        again = ImageSource(None, kind="style", procedural_count=3, procedural_size=32)
    a = _crop(src, np.random.default_rng(5), load_size=32, crop_size=16)
    b = _crop(again, np.random.default_rng(5), load_size=32, crop_size=16)
    assert np.array_equal(a, b)
    with pytest.warns(UserWarning):
        content = ImageSource(None, kind="content", procedural_count=3, procedural_size=32)
    assert not np.array_equal(np.asarray(content.get(0)), np.asarray(src.get(0)))


def test_default_procedural_set_has_sixteen_images():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(ImageSource()) == 16


def test_cache_stays_within_budget(folder):
    src = ImageSource(folder, cache_mb=32 * 32 * 3 * 2 / (1024 * 1024))  # room for two 32 px images
    rng = np.random.default_rng(0)
    for _ in range(20):
        _crop(src, rng, load_size=32, crop_size=16)
    assert len(src._cache) <= 2
    assert src._cache_bytes <= 32 * 32 * 3 * 2


def test_pickles(folder):
    src = ImageSource(folder)
    _crop(src, np.random.default_rng(0), 32, 16)
    copy = pickle.loads(pickle.dumps(src))
    assert len(copy) == len(src)
    assert np.array_equal(_crop(copy, np.random.default_rng(1), 32, 16), _crop(src, np.random.default_rng(1), 32, 16))


def test_real_style_folder(shared):
    """The shared style paintings: the cheap construction check passes and crops come out."""
    src = ImageSource(shared / "data" / "style", kind="style")
    assert len(src) == 60
    crop = _crop(src, np.random.default_rng(0), load_size=128, crop_size=64)
    assert crop.shape == (3, 64, 64) and crop.std() > 0
