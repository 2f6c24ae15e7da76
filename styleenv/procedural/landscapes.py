"""Procedural content images: small landscapes (sky, sun or moon, mountain ridges, hills, houses,
trees, a lake with a reflection), see :func:`procedural_content`."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from styleenv.pixels import canvas_to_uint8
from styleenv.procedural.noise import check_arguments, mix, ridge_line, smooth_noise

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


def procedural_content(seed: int, size: int = 256) -> Image.Image:
    """A procedural landscape with clear structure and edges.

    :param seed: any non-negative integer; the same seed gives the same picture
    :param size: side length in pixels
    :return: an RGB ``size x size`` image
    """
    check_arguments(seed, size)
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
    pic = Image.fromarray(canvas_to_uint8(img))
    return pic


def _sky(size, top, horizon_colour, horizon, rng) -> np.ndarray:
    y = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    t = np.clip(y / horizon, 0, 1) ** rng.uniform(0.8, 1.6)
    column = mix(top, horizon_colour, t)
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
    colour = mix((255, 255, 255), tint, 0.25)
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
        ridge = top + height * 0.5 * (1 + ridge_line(size, rng, rng.uniform(0.4, 0.6)))
        ridge = np.minimum(ridge, horizon - 0.005)
        colour = mix(base * (0.6 + 0.3 * (1 - depth)), sky_horizon, 0.65 * depth)
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
    tint = mix((30, 60, 90), sky_top, 0.3)
    depth = (y / max(rows, 1))[:, None, None]
    water = mix(reflected * 0.8, tint, 0.25 + 0.45 * depth)
    # thin bright lines of light on the water
    sparkle = (np.sin(y * 2.3)[:, None] * np.sin(x * 0.15 + y[:, None] * 0.3)) > 0.97
    water = water + sparkle[..., None] * 25.0
    img[h0:] = water
    img[h0 : h0 + max(1, size // 256)] *= 0.85  # shoreline


def _shore_trees(img, size, rng, horizon, night) -> None:
    """A few conifers on one bank of the lake, reflected in the water."""
    pic = Image.fromarray(canvas_to_uint8(img))
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
        line = top + rng.uniform(0.03, 0.06) * ridge_line(size, rng, 0.3)
        inside = np.clip((rows - line[None, :]) * size, 0, 1)
        texture = 0.9 + 0.2 * smooth_noise(size, 24, rng)[..., None]
        shade = 1.0 - 0.3 * np.clip(rows - line[None, :], 0, 1)[..., None] * 2
        img += (colour * texture * shade - img) * inside[..., None]
        hill_lines.append(line)
    front = hill_lines[-1]
    pic = Image.fromarray(canvas_to_uint8(img))
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
