"""The built-in procedural images: deterministic, varied, structured, fast."""

from __future__ import annotations


import numpy as np
import pytest

from styleenv.procedural import procedural_content, procedural_style


def _arr(img) -> np.ndarray:
    return np.asarray(img, dtype=np.float32)


def _edge_energy(arr: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels."""
    return float(np.abs(np.diff(arr, axis=0)).mean() + np.abs(np.diff(arr, axis=1)).mean())


@pytest.mark.parametrize("make", [procedural_content, procedural_style])
def test_deterministic_and_sized(make):
    a, b = make(3, 64), make(3, 64)
    assert a.mode == "RGB" and a.size == (64, 64)
    assert a.tobytes() == b.tobytes()
    assert make(0, 17).size == (17, 17)


@pytest.mark.parametrize("make", [procedural_content, procedural_style])
def test_seeds_give_different_pictures(make):
    pictures = [make(seed, 48).tobytes() for seed in range(8)]
    assert len(set(pictures)) == 8
    means = np.array([_arr(make(seed, 48)).mean(axis=(0, 1)) for seed in range(8)])
    assert means.std(axis=0).max() > 5  # colours vary between seeds, not only noise


def test_content_has_structure():
    """A sky above darker land: the top rows differ from the bottom rows, and there are edges."""
    for seed in range(6):
        arr = _arr(procedural_content(seed, 64))
        assert arr.std() > 15
        assert abs(arr[:8].mean() - arr[-8:].mean()) > 5
        assert _edge_energy(arr) > 2


def test_styles_are_textured_and_colourful():
    for seed in range(12):
        arr = _arr(procedural_style(seed, 64))
        assert _edge_energy(arr) > 6, seed
        saturation = (arr.max(axis=2) - arr.min(axis=2)).mean()
        assert saturation > 20, seed


def test_content_and_style_streams_differ():
    assert procedural_content(0, 32).tobytes() != procedural_style(0, 32).tobytes()


def test_same_seed_same_picture_at_any_size():
    small = _arr(procedural_content(4, 64))
    large = _arr(procedural_content(4, 128))[::2, ::2]
    assert np.abs(small - large).mean() < 25  # the same scene, only sharper


def test_invalid_arguments():
    with pytest.raises(ValueError, match="seed must be non-negative, got -1"):
        procedural_content(-1)
    with pytest.raises(ValueError, match="size must be at least 8 pixels, got 2"):
        procedural_style(0, size=2)
