"""Shared helpers of the procedural pictures: argument checks, value noise, ridges, colour mixing."""

from __future__ import annotations

import numpy as np
from PIL import Image


def check_arguments(seed: int, size: int) -> None:
    """Refuse a negative seed or a side under 8 pixels with a ``ValueError``.

    :param seed: the picture's seed
    :param size: the picture's side length
    """
    if int(seed) < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if int(size) < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")


def smooth_noise(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Value noise in ``[0, 1]``: a ``cells x cells`` random grid upsampled bicubically to ``size``."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    big = Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32)


def fractal_noise(size: int, rng: np.random.Generator, base_cells: int = 3, octaves: int = 4) -> np.ndarray:
    """Sum of value-noise octaves, normalised to ``[0, 1]``."""
    total = np.zeros((size, size), np.float32)
    amp, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amp * smooth_noise(size, base_cells * 2**octave, rng)
        norm += amp
        amp *= 0.5
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def ridge_line(size: int, rng: np.random.Generator, roughness: float) -> np.ndarray:
    """A 1-D ridge line in ``[-1, 1]`` along the width: a sum of random sines."""
    x = np.linspace(0.0, 1.0, size, dtype=np.float32)
    line = np.zeros(size, np.float32)
    amp = 1.0
    for octave in range(6):
        freq = (1.5 + rng.random()) * 2**octave
        line += amp * np.sin(2 * np.pi * freq * x + rng.uniform(0, 2 * np.pi))
        amp *= roughness
    return line / max(float(np.abs(line).max()), 1e-6)


def mix(a, b, t):
    """Linear interpolation ``a + (b - a) * t`` (broadcasting)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    return a + (b - a) * t


def gradient_map(values: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map ``values`` in ``[0, 1]`` to colours by piecewise-linear interpolation along ``colours``."""
    n = len(colours)
    pos = np.clip(values, 0.0, 1.0) * (n - 1)
    low = np.minimum(pos.astype(np.int32), n - 2)
    frac = (pos - low)[..., None]
    return colours[low] * (1 - frac) + colours[low + 1] * frac
