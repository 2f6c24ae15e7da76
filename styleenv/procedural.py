"""Procedural images, so that the environment and the demos run anywhere without image files.

:func:`procedural_content` draws small landscapes (sky, sun or moon, mountain ridges, hills,
houses, trees, a lake with a reflection); :func:`procedural_style` paints strongly textured,
colourful "paintings" (brush strokes, swirls, mosaics, stripes, dots). Both are deterministic
functions of the seed, and geometry is expressed in fractions of the image side, so the same seed
gives the same picture at every size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from styleenv.pixels import canvas_to_uint8

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

# Skies for the content images: (top, horizon) colours for a time of day.
SKIES: tuple[tuple[str, tuple[int, int, int], tuple[int, int, int]], ...] = (
    ("day", (60, 120, 210), (190, 220, 245)),
    ("sunset", (70, 50, 120), (250, 150, 80)),
    ("dusk", (30, 40, 90), (220, 120, 130)),
    ("night", (8, 12, 36), (40, 60, 110)),
    ("dawn", (120, 150, 210), (250, 200, 170)),
    ("overcast", (130, 140, 155), (200, 205, 210)),
)

_CONTENT_STREAM = 0
_STYLE_STREAM = 1


def procedural_content(seed: int, size: int = 256) -> Image.Image:
    """A procedural landscape with clear structure and edges.

    :param seed: any non-negative integer; the same seed gives the same picture
    :param size: side length in pixels
    :return: an RGB ``size x size`` image
    """
    _check(seed, size)
    rng = np.random.default_rng([seed, _CONTENT_STREAM])
    sky_name, sky_top, sky_horizon = SKIES[int(rng.integers(len(SKIES)))]
    night = sky_name in ("night", "dusk")
    horizon = rng.uniform(0.55, 0.72)  # fraction of the height where land/water starts
    water = rng.random() < 0.5

    img = _sky(size, sky_top, sky_horizon, horizon, rng)
    _celestial(img, size, rng, night, sky_horizon, horizon)
    if not night and rng.random() < 0.8:
        _clouds(img, size, rng, sky_horizon)
    if night:
        _stars(img, size, rng, horizon)
    _mountains(img, size, rng, sky_horizon, horizon, water)
    if water:
        _lake(img, size, rng, horizon, sky_top)
        _shore_trees(img, size, rng, horizon, night)
    else:
        _hills_and_village(img, size, rng, horizon, night)
    pic = Image.fromarray(canvas_to_uint8(img), mode="RGB")
    return pic


def procedural_style(seed: int, size: int = 256) -> Image.Image:
    """A procedural "painting": strongly textured and coloured, varied per seed.

    :param seed: any non-negative integer; the same seed gives the same picture
    :param size: side length in pixels
    :return: an RGB ``size x size`` image
    """
    _check(seed, size)
    rng = np.random.default_rng([seed, _STYLE_STREAM])
    palette = _palette(rng)
    painters = (_brush_strokes, _swirls, _mosaic, _stripes, _dots, _circles)
    painter = painters[seed % len(painters)]
    img = painter(size, rng, palette)
    img = _canvas_grain(img, size, rng)
    return Image.fromarray(canvas_to_uint8(img), mode="RGB")


def _check(seed: int, size: int) -> None:
    if int(seed) < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if int(size) < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def _smooth_noise(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Value noise in ``[0, 1]``: a ``cells x cells`` random grid upsampled bicubically to ``size``."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    big = Image.fromarray(grid, mode="F").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32)


def _fractal_noise(size: int, rng: np.random.Generator, base_cells: int = 3, octaves: int = 4) -> np.ndarray:
    """Sum of value-noise octaves, normalised to ``[0, 1]``."""
    total = np.zeros((size, size), np.float32)
    amp, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amp * _smooth_noise(size, base_cells * 2**octave, rng)
        norm += amp
        amp *= 0.5
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def _ridge(size: int, rng: np.random.Generator, roughness: float) -> np.ndarray:
    """A 1-D ridge line in ``[-1, 1]`` along the width: a sum of random sines."""
    x = np.linspace(0.0, 1.0, size, dtype=np.float32)
    line = np.zeros(size, np.float32)
    amp = 1.0
    for octave in range(6):
        freq = (1.5 + rng.random()) * 2**octave
        line += amp * np.sin(2 * np.pi * freq * x + rng.uniform(0, 2 * np.pi))
        amp *= roughness
    return line / max(float(np.abs(line).max()), 1e-6)


def _mix(a, b, t):
    """Linear interpolation ``a + (b - a) * t`` (broadcasting)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    return a + (b - a) * t


def _gradient_map(values: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map ``values`` in ``[0, 1]`` to colours by piecewise-linear interpolation along ``colours``."""
    n = len(colours)
    pos = np.clip(values, 0.0, 1.0) * (n - 1)
    low = np.minimum(pos.astype(np.int32), n - 2)
    frac = (pos - low)[..., None]
    return colours[low] * (1 - frac) + colours[low + 1] * frac


# --------------------------------------------------------------------------------------------------
# Content: landscapes
# --------------------------------------------------------------------------------------------------


def _sky(size, top, horizon_colour, horizon, rng) -> np.ndarray:
    y = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    t = np.clip(y / horizon, 0, 1) ** rng.uniform(0.8, 1.6)
    column = _mix(top, horizon_colour, t)
    return np.broadcast_to(column, (size, size, 3)).copy()


def _radial(size, cx, cy) -> np.ndarray:
    """Distance of every pixel from ``(cx, cy)``, in fractions of the side."""
    coords = np.arange(size, dtype=np.float32) / size
    return np.sqrt((coords[None, :] - cx) ** 2 + (coords[:, None] - cy) ** 2)


def _celestial(img, size, rng, night, sky_horizon, horizon) -> None:
    """A sun (or moon) disk with a soft glow."""
    cx = rng.uniform(0.15, 0.85)
    cy = rng.uniform(0.12, horizon - 0.12)
    radius = rng.uniform(0.04, 0.08)
    dist = _radial(size, cx, cy)
    behind = img[min(size - 1, int(cy * size)), 0].copy()
    colour = np.array((235, 235, 215) if night else (255, 236, 170), np.float32)
    glow = np.exp(-((dist / (radius * 3.5)) ** 2))[..., None] * (0.25 if night else 0.5)
    img += (colour - img) * glow
    disk = np.clip((radius - dist) * size / 1.5, 0, 1)[..., None]
    img += (colour - img) * disk
    if night and rng.random() < 0.7:  # crescent: a second disk in sky colour
        shift = radius * rng.uniform(0.35, 0.7)
        dist2 = _radial(size, cx + shift, cy - shift * 0.4)
        bite = np.clip((radius - dist2) * size / 1.5, 0, 1)[..., None] * disk
        img += (behind - img) * bite


def _clouds(img, size, rng, tint) -> None:
    """Soft clouds: blurred ellipses in a layer blended over the sky."""
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0.0, 1.0), rng.uniform(0.08, 0.4)
        width = rng.uniform(0.12, 0.3)
        for _ in range(int(rng.integers(4, 8))):
            ox, oy = rng.normal(0, width * 0.35), rng.normal(0, 0.02)
            rx, ry = width * rng.uniform(0.3, 0.6), width * rng.uniform(0.15, 0.3)
            box = [(cx + ox - rx) * size, (cy + oy - ry) * size, (cx + ox + rx) * size, (cy + oy + ry) * size]
            draw.ellipse(box, fill=int(rng.integers(170, 240)))
    layer = layer.filter(ImageFilter.GaussianBlur(size * 0.012))
    alpha = np.asarray(layer, np.float32)[..., None] / 255.0 * 0.85
    colour = _mix((255, 255, 255), tint, 0.25)
    img += (colour - img) * alpha


def _stars(img, size, rng, horizon) -> None:
    count = int(rng.integers(40, 90))
    xs = (rng.random(count) * size).astype(int)
    ys = (rng.random(count) * size * horizon * 0.9).astype(int)
    bright = rng.uniform(120, 255, count)[:, None]
    img[ys, xs] = np.maximum(img[ys, xs], bright)


def _mountains(img, size, rng, sky_horizon, horizon, water) -> None:
    """Two to four ridge layers, the farther ones paler (aerial perspective)."""
    layers = int(rng.integers(2, 5))
    base = np.array(
        [(70, 90, 120), (60, 80, 70), (90, 70, 90), (80, 90, 110), (100, 85, 70)][int(rng.integers(5))], np.float32
    )
    rows = np.arange(size, dtype=np.float32)[:, None] / size
    for layer in range(layers):
        depth = 1.0 - layer / max(layers - 1, 1)  # 1 = farthest
        height = rng.uniform(0.12, 0.3) * (0.6 + 0.6 * depth)
        top = horizon - height - (0.03 * (1 - depth))
        ridge = top + height * 0.5 * (1 + _ridge(size, rng, rng.uniform(0.4, 0.6)))
        ridge = np.minimum(ridge, horizon - 0.005)
        colour = _mix(base * (0.6 + 0.3 * (1 - depth)), sky_horizon, 0.65 * depth)
        inside = np.clip((rows - ridge[None, :]) * size, 0, 1)  # anti-aliased fill below the ridge
        if water:
            inside = inside * (rows < horizon + 0.01)
        # shade each ridge a little darker towards its base
        shade = 1.0 - 0.25 * np.clip((rows - ridge[None, :]) / max(height, 1e-3), 0, 1)
        img += (colour[None, None, :] * shade[..., None] - img) * inside[..., None]
        if depth > 0.7 and rng.random() < 0.6:  # snow caps on far peaks
            snow = inside * (rows < ridge[None, :] + height * 0.12) * (ridge[None, :] < top + height * 0.45)
            img += (np.array((245, 245, 250), np.float32) - img) * (snow[..., None] * 0.85)


def _lake(img, size, rng, horizon, sky_top) -> None:
    """Mirror the scene above the horizon into water, with ripples and a tint."""
    h0 = int(round(horizon * size))
    rows = size - h0
    if rows <= 0:
        return
    src = np.clip(2 * h0 - 1 - np.arange(h0, size), 0, size - 1)  # reflected row index
    y = np.arange(rows, dtype=np.float32)
    x = np.arange(size, dtype=np.float32)
    amp = size * rng.uniform(0.004, 0.01) * (1 + y / max(rows, 1) * 2)
    offset = amp[:, None] * np.sin(x[None, :] * (2 * np.pi / (size * rng.uniform(0.05, 0.1))) + y[:, None] * 0.9)
    cols = np.clip(np.round(x[None, :] + offset).astype(int), 0, size - 1)
    reflected = img[src[:, None], cols]
    tint = _mix((30, 60, 90), sky_top, 0.3)
    depth = (y / max(rows, 1))[:, None, None]
    water = _mix(reflected * 0.8, tint, 0.25 + 0.45 * depth)
    # thin bright lines of light on the water
    sparkle = (np.sin(y * 2.3)[:, None] * np.sin(x * 0.15 + y[:, None] * 0.3)) > 0.97
    water = water + sparkle[..., None] * 25.0
    img[h0:] = water
    img[h0 : h0 + max(1, size // 256)] *= 0.85  # shoreline


def _shore_trees(img, size, rng, horizon, night) -> None:
    """A few conifers on one bank of the lake, reflected in the water."""
    pic = Image.fromarray(canvas_to_uint8(img), mode="RGB")
    draw = ImageDraw.Draw(pic)
    side = rng.random() < 0.5
    h0 = horizon * size
    green = (18, 30, 28) if night else (30, 70, 45)
    count = int(rng.integers(3, 8))
    for i in range(count):
        frac = rng.uniform(0.0, 0.3)
        x = (frac if side else 1 - frac) * size
        height = size * rng.uniform(0.08, 0.18)
        _pine(draw, x, h0, height, green)
        _pine(draw, x, h0, -height * 0.8, tuple(int(c * 0.8) for c in green))
    img[:] = np.asarray(pic, np.float32)


def _pine(draw: ImageDraw.ImageDraw, x: float, base: float, height: float, colour) -> None:
    """A conifer of three stacked triangles; a negative height draws it upside down (reflection)."""
    width = abs(height) * 0.45
    for k in range(3):
        y_bottom = base - height * (0.15 + 0.25 * k)
        y_top = y_bottom - height * 0.5
        w = width * (1 - 0.25 * k)
        draw.polygon([(x - w, y_bottom), (x + w, y_bottom), (x, y_top)], fill=colour)
    draw.line([(x, base), (x, base - height * 0.2)], fill=(60, 40, 30), width=max(1, int(abs(height) * 0.06)))


def _hills_and_village(img, size, rng, horizon, night) -> None:
    """Rolling hills in front of the mountains, with houses and trees on the nearest one."""
    rows = np.arange(size, dtype=np.float32)[:, None] / size
    greens = [(80, 140, 60), (110, 160, 70), (150, 170, 80), (90, 120, 50), (170, 150, 90)]
    hill_lines = []
    for layer in range(2):
        colour = np.array(greens[int(rng.integers(len(greens)))], np.float32) * (0.85 + 0.15 * layer)
        if night:
            colour = colour * 0.35
        top = horizon + 0.02 + 0.1 * layer
        line = top + rng.uniform(0.03, 0.06) * _ridge(size, rng, 0.3)
        inside = np.clip((rows - line[None, :]) * size, 0, 1)
        texture = 0.9 + 0.2 * _smooth_noise(size, 24, rng)[..., None]
        shade = 1.0 - 0.3 * np.clip(rows - line[None, :], 0, 1)[..., None] * 2
        img += (colour * texture * shade - img) * inside[..., None]
        hill_lines.append(line)
    front = hill_lines[-1]
    pic = Image.fromarray(canvas_to_uint8(img), mode="RGB")
    draw = ImageDraw.Draw(pic)
    objects = []
    for _ in range(int(rng.integers(2, 5))):
        objects.append(("house", rng.uniform(0.05, 0.95)))
    for _ in range(int(rng.integers(3, 8))):
        objects.append(("tree", rng.uniform(0.0, 1.0)))
    objects.sort(key=lambda item: item[1])
    for kind, fx in objects:
        x = int(fx * (size - 1))
        ground = front[x] * size + size * 0.01
        if kind == "house":
            _house(draw, x, ground, size * rng.uniform(0.07, 0.12), rng, night)
        else:
            _tree(draw, x, ground, size * rng.uniform(0.06, 0.12), rng, night)
    img[:] = np.asarray(pic, np.float32)


def _house(draw, x, ground, width, rng, night) -> None:
    walls = [(230, 220, 200), (200, 120, 90), (240, 230, 180), (180, 190, 200), (250, 250, 245)]
    roofs = [(150, 50, 40), (80, 60, 50), (60, 70, 90), (120, 40, 40)]
    wall = walls[int(rng.integers(len(walls)))]
    roof = roofs[int(rng.integers(len(roofs)))]
    if night:
        wall = tuple(int(c * 0.35) for c in wall)
        roof = tuple(int(c * 0.35) for c in roof)
    height = width * rng.uniform(0.6, 0.9)
    left, right = x - width / 2, x + width / 2
    top = ground - height
    draw.rectangle([left, top, right, ground], fill=wall, outline=(40, 30, 30))
    overhang = width * 0.12
    draw.polygon([(left - overhang, top), (right + overhang, top), (x, top - height * 0.7)], fill=roof)
    window = (255, 210, 110) if night else (90, 130, 170)
    w = width * 0.18
    for cx in (left + width * 0.25, right - width * 0.25):
        draw.rectangle([cx - w / 2, top + height * 0.25, cx + w / 2, top + height * 0.25 + w], fill=window)
    draw.rectangle([x - w / 2, ground - height * 0.45, x + w / 2, ground], fill=(90, 60, 40))


def _tree(draw, x, ground, height, rng, night) -> None:
    leaf = [(40, 110, 50), (70, 130, 40), (30, 90, 60), (120, 140, 40)][int(rng.integers(4))]
    if night:
        leaf = tuple(int(c * 0.35) for c in leaf)
    trunk_w = max(1.0, height * 0.1)
    draw.rectangle([x - trunk_w / 2, ground - height * 0.45, x + trunk_w / 2, ground], fill=(80, 55, 35))
    if rng.random() < 0.5:
        _pine(draw, x, ground - height * 0.1, height, leaf)
    else:
        r = height * 0.32
        cy = ground - height * 0.65
        draw.ellipse([x - r, cy - r, x + r, cy + r], fill=leaf)
        dark = tuple(int(c * 0.8) for c in leaf)
        draw.ellipse([x - r * 0.2, cy - r * 0.1, x + r * 0.9, cy + r * 0.9], fill=dark)


# --------------------------------------------------------------------------------------------------
# Style: paintings and textures
# --------------------------------------------------------------------------------------------------


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
    return _fractal_noise(size, rng, base_cells=2, octaves=2) * np.pi * rng.uniform(1.5, 4.0) + rng.uniform(0, np.pi)


def _brush_strokes(size, rng, palette) -> np.ndarray:
    """Thick strokes along a flow field, in layers from large to small."""
    background = tuple(int(c) for c in palette[0])
    pic = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(pic)
    angle = _flow_angle(size, rng)
    tone = _fractal_noise(size, rng, base_cells=2, octaves=3)  # picks palette regions
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
    warp1 = _fractal_noise(size, rng, base_cells=3, octaves=3) - 0.5
    warp2 = _fractal_noise(size, rng, base_cells=3, octaves=3) - 0.5
    strength = rng.uniform(0.6, 1.4)
    u = x + strength * warp1 + 0.15 * np.sin(2 * np.pi * (y * rng.uniform(1, 3) + rng.random()))
    v = y + strength * warp2 + 0.15 * np.sin(2 * np.pi * (x * rng.uniform(1, 3) + rng.random()))
    freq = rng.uniform(3, 7)
    theta = rng.uniform(0, np.pi)
    field = np.sin(2 * np.pi * freq * (u * np.cos(theta) + v * np.sin(theta)))
    field = field + 0.35 * np.sin(2 * np.pi * freq * 1.7 * (u * np.sin(theta) - v * np.cos(theta)))
    values = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    return _gradient_map(values, palette)


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
    background = tuple(int(c) for c in _mix(palette[0], (245, 240, 225), 0.6))
    pic = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(pic)
    tone = _fractal_noise(size, rng, base_cells=2, octaves=3)
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
    noise = _fractal_noise(size, rng, base_cells=4, octaves=3)
    img = _gradient_map(0.3 + 0.15 * noise, palette[[0, 1, 0]])
    pic = Image.fromarray(canvas_to_uint8(img), mode="RGB")
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
