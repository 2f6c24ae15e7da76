"""``styleenv stylize`` with --style-weights, --preserve-colour and --mask: files written, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styleenv_cli.main import main


def _image(path: Path, w: int, h: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    tint = rng.uniform(0.2, 1.0, 3)
    base = np.stack([xx / w * tint[0], yy / h * tint[1], (xx + yy) / (w + h) * tint[2]], axis=-1) * 200
    Image.fromarray((base + rng.integers(0, 55, (h, w, 3))).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    left = np.zeros((20, 28), np.uint8)
    left[:, :14] = 255
    Image.fromarray(left).save(root / "left.png")
    Image.fromarray(255 - left).save(root / "right.png")
    Image.fromarray(left[::2, ::2]).save(root / "left-small.png")  # half size, same shape
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(root / "square.png")
    (root / "notes.png").write_text("this is not an image")
    (root / "styles").mkdir()
    _image(root / "styles" / "c.png", 24, 24, 3)
    return {"content": _image(root / "photo.png", 28, 20, 0), "a": _image(root / "a.png", 24, 24, 1),
            "b": _image(root / "b.png", 32, 16, 2), "left": root / "left.png", "right": root / "right.png",
            "left_small": root / "left-small.png", "square": root / "square.png", "text": root / "notes.png",
            "styles": root / "styles"}


def run(argv: list, capsys: pytest.CaptureFixture) -> tuple[int, dict | None, str]:
    rc = main(["stylize", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 and out.strip().startswith("{") else None), err


def _last_step(summary: dict, pair: int = 0) -> np.ndarray:
    return np.asarray(Image.open(summary["pairs"][pair]["steps"][-1]["path"]))


def test_blend_weights_one_zero_equal_the_single_style(files, tmp_path: Path, capsys) -> None:
    rc, single, err = run([files["content"], files["a"], "--steps", 2, "--out", tmp_path / "s", "--json"], capsys)
    assert rc == 0, err
    rc, blend, err = run([files["content"], files["a"], files["b"], "--style-weights", 1, 0, "--steps", 2,
                          "--out", tmp_path / "b", "--json"], capsys)
    assert rc == 0, err
    (pair,) = blend["pairs"]
    assert Path(pair["folder"]).name == "photo__a+b-w1-0" and pair["style"] == [str(files["a"]), str(files["b"])]
    assert blend["style_weights"] == [1.0, 0.0]
    assert np.array_equal(_last_step(blend), _last_step(single))
    rc, mixed, err = run([files["content"], files["a"], files["b"], "--style-weights", 0.5, 0.5, "--steps", 2,
                          "--out", tmp_path / "m", "--json"], capsys)
    assert rc == 0, err
    assert not np.array_equal(_last_step(mixed), _last_step(single))


def test_several_styles_without_weights_run_one_pair_each(files, tmp_path: Path, capsys) -> None:
    rc, summary, err = run([files["content"], files["a"], files["styles"], "--steps", 1, "--out", tmp_path, "--json"],
                           capsys)
    assert rc == 0, err
    assert [Path(p["folder"]).name for p in summary["pairs"]] == ["photo__a", "photo__c"]


def test_preserve_colour_keeps_the_photos_colours(files, tmp_path: Path, capsys) -> None:
    from agents.colour import chroma_distance
    from styleenv.pixels import pil_to_tensor

    content = pil_to_tensor(Image.open(files["content"]).convert("RGB"))
    distances = {}
    for mode in ([], ["--preserve-colour"], ["--preserve-colour", "match"]):
        rc, summary, err = run([files["content"], files["a"], "--steps", 2, "--out", tmp_path / "-".join(mode or ["no"]),
                                "--json", *mode], capsys)
        assert rc == 0, err
        distances[summary["preserve_colour"]] = chroma_distance(pil_to_tensor(Image.fromarray(_last_step(summary))),
                                                                content)
    assert distances["luminance"] < 0.25 * distances[None]
    assert distances["match"] < distances[None]  # the style recoloured to the photo's colours first


def test_mask_stylises_only_the_white_part(files, tmp_path: Path, capsys) -> None:
    rc, plain, err = run([files["content"], files["a"], "--steps", 2, "--out", tmp_path / "p", "--json"], capsys)
    assert rc == 0, err
    for mask in ("left", "left_small"):  # a smaller mask of the same shape is resized
        rc, masked, err = run([files["content"], files["a"], "--mask", files[mask], "--steps", 2,
                               "--out", tmp_path / mask, "--json"], capsys)
        assert rc == 0, err
        assert Path(masked["pairs"][0]["folder"]).name == f"photo__a-masked-{files[mask].stem}"  # beside the plain one
        out, photo = _last_step(masked), np.asarray(Image.open(files["content"]).convert("RGB"))
        edge = 0 if mask == "left" else 2  # the resized mask's edge is soft
        assert np.array_equal(out[:, 14 + edge:], photo[:, 14 + edge:])
        assert np.array_equal(out[:, : 14 - edge], _last_step(plain)[:, : 14 - edge])
        assert not np.array_equal(out[:, :14], photo[:, :14])


def test_one_style_per_mask_region(files, tmp_path: Path, capsys) -> None:
    rc, summary, err = run([files["content"], files["a"], files["b"], "--mask", files["left"], files["right"],
                            "--feather", 2, "--steps", 2, "--out", tmp_path, "--json"], capsys)
    assert rc == 0, err
    (pair,) = summary["pairs"]
    assert Path(pair["folder"]).name == "photo__regions-a+b-masked-left-right-feather2" and summary["feather"] == 2.0
    out = _last_step(summary)
    alone = {}
    for style in ("a", "b"):
        rc, single, err = run([files["content"], files[style], "--steps", 2, "--out", tmp_path / style, "--json"], capsys)
        assert rc == 0, err
        alone[style] = _last_step(single)
    # the masks' edge is at column 14; a feather of 2 leaves the masks exactly 0 or 1 from 3 x 2 pixels away
    left, right = slice(0, 14 - 6), slice(14 + 6, None)
    assert not np.array_equal(alone["a"][:, left], alone["b"][:, left])  # the two styles are told apart
    assert not np.array_equal(alone["a"][:, right], alone["b"][:, right])
    assert np.array_equal(out[:, left], alone["a"][:, left])
    assert np.array_equal(out[:, right], alone["b"][:, right])
    assert not np.array_equal(out[:, 13:15], alone["a"][:, 13:15])  # the feathered edge mixes the two
    assert not np.array_equal(out[:, 13:15], alone["b"][:, 13:15])


BAD = {
    "weights sum to zero": (["{a}", "{b}", "--style-weights", "0", "0"], "sum to a positive number"),
    "negative weight": (["{a}", "{b}", "--style-weights", "1", "-1"], "non-negative"),
    "weight count": (["{a}", "{b}", "--style-weights", "1"], "1 weights for 2"),
    "blend of a folder": (["{a}", "{styles}", "--style-weights", "1", "1"], "not folders"),
    "mask of another shape": (["{a}", "--mask", "{square}"], "20x20 but the content is 28x20"),
    "mask not an image": (["{a}", "--mask", "{text}"], "notes.png"),
    "missing mask": (["{a}", "--mask", "{content}.missing.png"], "missing.png"),
    "mask count": (["{a}", "{b}", "--mask", "{left}", "{right}", "{left}"], "one per STYLE"),
    "negative feather": (["{a}", "--mask", "{left}", "--feather", "-1"], "--feather"),
    "unknown colour mode": (["{a}", "--preserve-colour", "sepia"], "invalid choice"),
    "onnx without file": (["{a}", "--runtime", "onnx"], "--onnx FILE"),
    "temporal on a picture": (["{a}", "--temporal", "0.5"], "video"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line(case: str, files, tmp_path: Path, capsys) -> None:
    template, needle = BAD[case]
    names = {k: str(v) for k, v in files.items()}
    out = tmp_path / "out"
    try:
        rc, _, err = run([files["content"], *[a.format(**names) for a in template], "--steps", 1, "--out", out],
                         capsys)
        lines = err.strip().splitlines()
    except SystemExit as exit_:  # argparse's own refusals (a choice not offered): the usage, then the error
        rc, err = exit_.code, capsys.readouterr().err
        lines = err.strip().splitlines()
        assert lines[0].startswith("usage: styleenv stylize "), err
        usage = [line for line in lines[1:] if line.startswith(" ")]  # the usage wraps, each line indented
        assert lines[1:] == usage + lines[-1:], err
        lines = lines[len(usage) + 1 :]
    assert rc == 2
    assert len(lines) == 1 and lines[0].startswith("styleenv stylize: error: "), err
    assert needle in lines[0]
    assert not out.exists()
