"""The pixel rules, the atomic file writer and the device rule: one place each."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from styleenv.devices import resolve_device
from styleenv.files import atomic_write
from styleenv.pixels import (
    array_to_uint8,
    canvas_to_uint8,
    chw_uint8_to_tensor,
    to_chw_uint8,
    to_hwc,
    to_pil,
    to_uint8,
)


def test_float_to_uint8_is_one_rule_for_tensors_and_arrays():
    # clamped to [0, 1], times 255, halves rounded to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 127.5 -> 128, 254.5 -> 254
    values = np.array([-0.2, 0.0, 0.5 / 255, 1.5 / 255, 2.5 / 255, 3.4 / 255, 3.6 / 255, 127.5 / 255, 0.5, 254.5 / 255,
                       1.0, 1.3], np.float32)  # fmt: skip
    expected = [0, 0, 0, 2, 2, 3, 4, 128, 128, 254, 255, 255]
    assert to_uint8(torch.from_numpy(values)).numpy().tolist() == expected
    assert array_to_uint8(values).tolist() == expected
    rng = np.random.default_rng(0)
    noise = rng.random((3, 16, 16), dtype=np.float32) * 1.2 - 0.1
    assert np.array_equal(to_uint8(torch.from_numpy(noise)).numpy(), array_to_uint8(noise))


def test_uint8_round_trip_and_devices():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16).repeat(3, axis=0)
    x = chw_uint8_to_tensor(pixels, "cpu")
    assert x.dtype == torch.float32 and float(x.max()) == 1.0
    assert np.array_equal(to_uint8(x).numpy(), pixels)
    assert np.array_equal(array_to_uint8(x.numpy()), pixels)


def test_canvas_rounds_halves_up():
    canvas = np.array([[[-3.0, 0.5, 1.5], [2.5, 254.5, 300.0]]], np.float32)
    assert canvas_to_uint8(canvas).tolist() == [[[0, 1, 2], [3, 255, 255]]]


def test_pil_forms():
    rng = np.random.default_rng(1)
    chw = rng.integers(0, 256, (3, 5, 7), dtype=np.uint8)
    img = to_pil(chw)
    assert img.mode == "RGB" and img.size == (7, 5)
    assert np.array_equal(np.asarray(img), to_hwc(chw))
    assert np.array_equal(to_chw_uint8(img), chw)
    assert np.array_equal(np.asarray(to_pil(torch.from_numpy(chw))), to_hwc(chw))
    with pytest.raises(ValueError, match="RGB"):
        to_chw_uint8(Image.new("L", (4, 4)))


def test_atomic_write_syncs_and_replaces(tmp_path):
    target = tmp_path / "deep" / "file.bin"
    assert atomic_write(target, lambda tmp: tmp.write_bytes(b"one"), sync=True) == target
    atomic_write(target, lambda tmp: tmp.write_bytes(b"two"))
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
