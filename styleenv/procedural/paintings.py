"""Procedural style images: strongly textured, colourful "paintings" (brush strokes, swirls,
mosaics, stripes, dots, circles), see :func:`procedural_style`."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from styleenv.pixels import canvas_to_uint8
from styleenv.procedural.noise import check_arguments, fractal_noise, gradient_map, mix

# Palettes for the style images: (name, colours). Colours are RGB in 0..255.
PALETTES: tuple[tuple[str, tuple[tuple[int, int, int], ...]], ...] = (
    ("starry night", ((16, 32, 84), (34, 74, 148), (88, 140, 204), (236, 206, 84), (250, 236, 160), (20, 50, 40))),
    ("fauve", ((214, 40, 40), (247, 127, 0), (252, 191, 73), (0, 122, 94), (36, 62, 160), (120, 20, 90))),
    ("ukiyo-e", ((30, 48, 88), (58, 96, 140), (232, 222, 196), (196, 64, 48), (24, 24, 28), (150, 176, 180))),
    ("autumn", ((120, 30, 20), (200, 80, 30), (236, 170, 60), (90, 100, 40), (50, 40, 30), (240, 220, 170))),
    ("pop", ((255, 0, 110), (255, 190, 11), (58, 134, 255), (131, 56, 236), (251, 86, 7), (20, 20, 20))),
    ("sea glass", ((0, 95, 115), (10, 147, 150), (148, 210, 189), (233, 216, 166), (238, 155, 0), (174, 32, 18))),
    ("mondrian", ((230, 30, 30), (20, 60, 170), (250, 210, 20), (245, 245, 240), (15, 15, 15), (245, 245, 240))),
    ("forest", ((22, 50, 34), (52, 100, 56), (120, 160, 80), (212, 200, 120), (96, 64, 40), (170, 200, 160))),
    ("rose", ((80, 20, 50), (170, 40, 90), (240, 120, 150), (250, 200, 190), (60, 90, 120), (240, 240, 220))),
    ("klimt", ((120, 80, 10), (212, 160, 30), (250, 220, 110), (30, 30, 30), (170, 60, 30), (80, 120, 90))),
)

_STYLE_STREAM = 1


def procedural_style(seed: int, size: int = 256) -> Image.Image:
    """A procedural "painting": strongly textured and coloured, varied per seed.

    :param seed: any non-negative integer; the same seed gives the same picture
    :param size: side length in pixels
    :return: an RGB ``size x size`` image
    """
    check_arguments(seed, size)
    rng = np.random.default_rng([seed, _STYLE_STREAM])
    palette = _palette(rng)
    painters = (_brush_strokes, _swirls, _mosaic, _stripes, _dots, _circles)
    painter = painters[seed % len(painters)]
    img = painter(size, rng, palette)
    img = _canvas_grain(img, size, rng)
    return Image.fromarray(canvas_to_uint8(img))


def _palette(rng: np.random.Generator) -> np.ndarray:
    """A palette: a curated one (shuffled), or a random harmonious one, as float ``(n, 3)``."""
    if rng.random() < 0.7:
        _, colours = PALETTES[int(rng.integers(len(PALETTES)))]
        pal = np.array(colours, np.float32)
        return pal[rng.permutation(len(pal))]
    hue = rng.random()
    n = int(rng.integers(4, 7))
    hues = (hue + rng.choice([0.0, 0.08, 0.5, 0.33, 0.58], n)) % 1.0 + rng.normal(0, 0.03, n)
    sats = rng.uniform(0.45, 0.95, n)
    vals = rng.uniform(0.3, 1.0, n)
    return np.array([_hsv_to_rgb(h % 1.0, s, v) for h, s, v in zip(hues, sats, vals)], np.float32)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return r * 255, g * 255, b * 255


def _flow_angle(size, rng) -> np.ndarray:
    """A smooth angle field for brush directions."""
    return fractal_noise(size, rng, base_cells=2, octaves=2) * np.pi * rng.uniform(1.5, 4.0) + rng.uniform(0, np.pi)


def _brush_strokes(size, rng, palette) -> np.ndarray:
    """Thick strokes along a flow field, in layers from large to small."""
    background = tuple(int(c) for c in palette[0])
    pic = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(pic)
    angle = _flow_angle(size, rng)
    tone = fractal_noise(size, rng, base_cells=2, octaves=3)  # picks palette regions
    for scale, count in ((0.09, 140), (0.05, 320), (0.028, 520)):
        xs = rng.random(count) * size
        ys = rng.random(count) * size
        for x, y in zip(xs, ys):
            ix, iy = int(x) % size, int(y) % size
            a = angle[iy, ix] + rng.normal(0, 0.15)
            length = size * scale * rng.uniform(0.8, 2.0)
            dx, dy = np.cos(a) * length / 2, np.sin(a) * length / 2
            pick = tone[iy, ix] * (len(palette) - 1) + rng.normal(0, 0.6)
            base = palette[int(np.clip(round(pick), 0, len(palette) - 1))]
            colour = tuple(int(c) for c in np.clip(base * rng.uniform(0.85, 1.15), 0, 255))
            width = max(1, int(size * scale * rng.uniform(0.25, 0.45)))
            draw.line([(x - dx, y - dy), (x + dx, y + dy)], fill=colour, width=width)
            r = width / 2
            draw.ellipse([x - dx - r, y - dy - r, x - dx + r, y - dy + r], fill=colour)
            draw.ellipse([x + dx - r, y + dy - r, x + dx + r, y + dy + r], fill=colour)
    img = np.asarray(pic, np.float32)
    # bristle marks: fine streaks along the flow
    streak = np.sin((np.arange(size)[None, :] * np.cos(angle) + np.arange(size)[:, None] * np.sin(angle)) * 1.7)
    return img * (0.93 + 0.07 * streak[..., None])


def _swirls(size, rng, palette) -> np.ndarray:
    """Domain-warped sine waves: flowing, swirling bands of colour."""
    coords = np.linspace(0.0, 1.0, size, dtype=np.float32)
    x, y = np.meshgrid(coords, coords)
    warp1 = fractal_noise(size, rng, base_cells=3, octaves=3) - 0.5
    warp2 = fractal_noise(size, rng, base_cells=3, octaves=3) - 0.5
    strength = rng.uniform(0.6, 1.4)
    u = x + strength * warp1 + 0.15 * np.sin(2 * np.pi * (y * rng.uniform(1, 3) + rng.random()))
    v = y + strength * warp2 + 0.15 * np.sin(2 * np.pi * (x * rng.uniform(1, 3) + rng.random()))
    freq = rng.uniform(3, 7)
    theta = rng.uniform(0, np.pi)
    field = np.sin(2 * np.pi * freq * (u * np.cos(theta) + v * np.sin(theta)))
    field = field + 0.35 * np.sin(2 * np.pi * freq * 1.7 * (u * np.sin(theta) - v * np.cos(theta)))
    values = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    return gradient_map(values, palette)


def _mosaic(size, rng, palette) -> np.ndarray:
    """Voronoi tiles on a jittered grid, with dark grout lines."""
    cells = int(rng.integers(6, 16))
    jitter = rng.random((cells + 2, cells + 2, 2))
    colour_idx = rng.integers(0, len(palette), (cells + 2, cells + 2))
    shade = rng.uniform(0.8, 1.15, (cells + 2, cells + 2))
    pos = (np.arange(size, dtype=np.float32) + 0.5) / size * cells
    px, py = np.meshgrid(pos, pos)
    gx, gy = np.floor(px).astype(int), np.floor(py).astype(int)
    best = np.full((size, size), np.inf, np.float32)
    second = np.full((size, size), np.inf, np.float32)
    owner = np.zeros((size, size, 2), int)
    for oy in (-1, 0, 1):
        for ox in (-1, 0, 1):
            cx, cy = gx + ox, gy + oy
            jx, jy = jitter[cy + 1, cx + 1, 0], jitter[cy + 1, cx + 1, 1]
            dist = np.hypot(px - (cx + jx), py - (cy + jy))
            closer = dist < best
            second = np.where(closer, best, np.minimum(second, dist))
            best = np.where(closer, dist, best)
            owner[closer] = np.stack([cy[closer] + 1, cx[closer] + 1], axis=-1)
    tiles = palette[colour_idx[owner[..., 0], owner[..., 1]]] * shade[owner[..., 0], owner[..., 1]][..., None]
    grout_width = rng.uniform(0.04, 0.1)
    edge = np.clip((second - best) / grout_width, 0, 1)[..., None]
    grout = np.array((30, 26, 24), np.float32) if rng.random() < 0.7 else np.array((235, 230, 220), np.float32)
    # a little bevel: tiles darken towards their border
    bevel = 0.85 + 0.15 * np.clip((second - best) / (grout_width * 4), 0, 1)[..., None]
    return grout + (tiles * bevel - grout) * edge


def _stripes(size, rng, palette) -> np.ndarray:
    """Wavy bands of colour, optionally crossed (a woven, plaid look)."""
    coords = np.linspace(0.0, 1.0, size, dtype=np.float32)
    x, y = np.meshgrid(coords, coords)
    theta = rng.uniform(0, np.pi)
    bands = int(rng.integers(8, 24))
    wave = rng.uniform(0.01, 0.05) * np.sin(2 * np.pi * (rng.uniform(1, 4) * (x * np.sin(theta) - y * np.cos(theta))))
    t = (x * np.cos(theta) + y * np.sin(theta) + wave) * bands
    index = np.floor(t).astype(int) % len(palette)
    img = palette[index]
    soft = np.abs(np.sin(np.pi * t))[..., None]
    img = img * (0.8 + 0.2 * soft)
    if rng.random() < 0.5:
        t2 = (x * np.cos(theta + np.pi / 2) + y * np.sin(theta + np.pi / 2)) * bands * rng.uniform(0.5, 1.5)
        index2 = np.floor(t2).astype(int) % len(palette)
        weave = ((np.floor(x * size / 3) + np.floor(y * size / 3)) % 2)[..., None]
        img = img * (0.5 + 0.5 * weave) + palette[index2] * (0.5 - 0.5 * weave)
    return img


def _dots(size, rng, palette) -> np.ndarray:
    """Pointillism: many small round dabs whose colours follow a smooth field."""
    background = tuple(int(c) for c in mix(palette[0], (245, 240, 225), 0.6))
    pic = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(pic)
    tone = fractal_noise(size, rng, base_cells=2, octaves=3)
    radius = size * rng.uniform(0.008, 0.018)
    count = int(1.4 / (np.pi * (radius / size) ** 2))
    xs, ys = rng.random(count) * size, rng.random(count) * size
    picks = rng.normal(0, 0.7, count)
    jitter = rng.uniform(0.8, 1.2, count)
    for x, y, p, j in zip(xs, ys, picks, jitter):
        idx = int(np.clip(round(tone[int(y), int(x)] * (len(palette) - 1) + p), 0, len(palette) - 1))
        colour = tuple(int(c) for c in np.clip(palette[idx] * j, 0, 255))
        r = radius * j
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return np.asarray(pic, np.float32)


def _circles(size, rng, palette) -> np.ndarray:
    """An abstract composition of overlapping concentric rings and bars on a textured ground."""
    noise = fractal_noise(size, rng, base_cells=4, octaves=3)
    img = gradient_map(0.3 + 0.15 * noise, palette[[0, 1, 0]])
    pic = Image.fromarray(canvas_to_uint8(img))
    draw = ImageDraw.Draw(pic)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0, x1, y1 = rng.random(4) * size
        width = max(1, int(size * rng.uniform(0.01, 0.04)))
        draw.line([(x0, y0), (x1, y1)], fill=tuple(int(c) for c in palette[int(rng.integers(len(palette)))]), width=width)
    for _ in range(int(rng.integers(4, 9))):
        cx, cy = rng.random(2) * size
        outer = size * rng.uniform(0.06, 0.22)
        rings = int(rng.integers(2, 6))
        for k in range(rings):
            r = outer * (1 - k / rings)
            colour = tuple(int(c) for c in palette[int(rng.integers(len(palette)))])
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    return np.asarray(pic, np.float32)


def _canvas_grain(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A light woven-canvas texture and fine noise, so flat areas still carry texture."""
    coords = np.arange(size, dtype=np.float32)
    weave = 0.5 * (np.sin(coords[None, :] * 1.9) + np.sin(coords[:, None] * 1.9))
    grain = rng.normal(0, 1, (size, size)).astype(np.float32)
    return img * (1 + 0.035 * weave[..., None]) + 6.0 * grain[..., None]
