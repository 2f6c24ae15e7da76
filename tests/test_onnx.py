"""ONNX export and the onnxruntime path: agreement with PyTorch, the stylize path, and foreign files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import need

need("onnx", "onnx")
need("onnxruntime", "onnx")

import onnx  # noqa: E402

from agents.onnx_export import FORMAT_KEY, export_onnx, style_path  # noqa: E402
from agents.onnx_runtime import OnnxModelError, OnnxStylizer, compare_with_torch  # noqa: E402
from agents.release import load_checkpoint  # noqa: E402
from agents.default import default_checkpoint  # noqa: E402
from agents.stylizer import Stylizer  # noqa: E402
from styleenv_cli.main import main  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped checkpoint exported by the command (the check at 32 px)."""
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    assert main(["export", "--onnx", str(path), "--verify-size", "32"]) == 0
    return path


def test_export_writes_both_graphs_and_agrees_with_pytorch(exported: Path) -> None:
    assert exported.is_file() and style_path(exported).is_file()
    actor, builder, _ = load_checkpoint(default_checkpoint())
    for size in (48, 36, 17):  # dynamic size; not a multiple of 4 at the encoder; padded
        diff = compare_with_torch(OnnxStylizer(exported), actor, builder, size=size)
        assert diff["step"] < 1e-4 and diff["style"] < 1e-4, diff


def test_onnx_sequence_matches_the_torch_stylizer(exported: Path) -> None:
    rng = np.random.default_rng(0)
    content = Image.fromarray(rng.integers(0, 255, (22, 30, 3), dtype=np.uint8))  # padded to 24 x 32 and back
    style = Image.fromarray(rng.integers(0, 255, (17, 19, 3), dtype=np.uint8))
    onnx_steps = dict(OnnxStylizer(exported).steps(content, style, steps=3))
    torch_steps = {k: x.clone() for k, x in Stylizer.default(device="cpu").steps(content, style, steps=3)}
    for k in (1, 2, 3):
        assert onnx_steps[k].shape == (1, 3, 22, 30)
        torch.testing.assert_close(onnx_steps[k], torch_steps[k], atol=1e-4, rtol=0)
    tiny = Image.fromarray(rng.integers(0, 255, (2, 3, 3), dtype=np.uint8))  # random: a flat image has no
    dot = Image.new("RGB", (1, 1), (10, 120, 250))  # contrast, and AdaIN would amplify float rounding
    for content, style in ((tiny, style), (content, dot)):  # sides under the first layer's reflection
        onnx_half = dict(OnnxStylizer(exported).steps(content, style, steps=2, alpha=0.5))
        torch_half = {k: x.clone() for k, x in Stylizer.default(device="cpu").steps(content, style, steps=2, alpha=0.5)}
        torch.testing.assert_close(onnx_half[2], torch_half[2], atol=1e-4, rtol=0)


def test_stylize_runtime_onnx(exported: Path, tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    for name in ("photo", "a", "b"):
        Image.fromarray(rng.integers(0, 255, (20, 28, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    rc = main(["stylize", str(tmp_path / "photo.png"), str(tmp_path / "a.png"), str(tmp_path / "b.png"),
               "--style-weights", "1", "2", "--runtime", "onnx", "--onnx", str(exported), "--steps", "2",
               "--out", str(tmp_path / "out"), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0 and summary["model"] == {"onnx": str(exported)} and summary["runtime"] == "onnx"
    assert Image.open(summary["pairs"][0]["steps"][1]["path"]).size == (28, 20)


def _stylize_error(onnx_file: Path, tmp_path: Path, capsys) -> str:
    Image.new("RGB", (16, 16), (90, 30, 200)).save(tmp_path / "x.png")
    rc = main(["stylize", str(tmp_path / "x.png"), str(tmp_path / "x.png"), "--runtime", "onnx", "--onnx",
               str(onnx_file), "--steps", "1", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and not (tmp_path / "out").exists()
    return err[0]


def test_export_refuses_a_stylizers_cpu_forms(tmp_path: Path) -> None:
    stylizer = Stylizer.default(device="cpu")  # its networks run in CPU forms, whose buffers trace as constants
    with pytest.raises(ValueError, match="CPU forms"):
        export_onnx(stylizer.actor, stylizer.builder, tmp_path / "model.onnx")
    assert not any(tmp_path.iterdir())


def test_export_and_compare_leave_the_callers_networks_as_they_were(exported: Path, tmp_path: Path) -> None:
    """Exporting from networks in training (or on a GPU) must not switch them to eval mode or the CPU."""
    actor, builder, _ = load_checkpoint(default_checkpoint())
    actor.train(), builder.train()
    export_onnx(actor, builder, tmp_path / "model.onnx", example_size=32)
    compare_with_torch(OnnxStylizer(exported), actor, builder, size=32)
    assert actor.training and builder.training


def test_export_never_replaces_a_file_not_named_onnx(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"my photo")
    assert main(["export", "--onnx", str(photo), "--verify-size", "0"]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    assert photo.read_bytes() == b"my photo" and not (tmp_path / "photo.style.jpg").exists()


def test_a_file_from_another_version_is_refused(exported: Path, tmp_path: Path, capsys) -> None:
    for path in (exported, style_path(exported)):
        model = onnx.load(str(path))
        for entry in model.metadata_props:
            if entry.key == FORMAT_KEY:
                entry.value = "0"
        target = tmp_path / path.name
        onnx.save(model, str(target))
    assert "from another version of styleenv" in _stylize_error(tmp_path / exported.name, tmp_path, capsys)


def test_foreign_garbage_and_missing_files_are_refused(exported: Path, tmp_path: Path, capsys) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not onnx")
    assert "cannot read ONNX model" in _stylize_error(garbage, tmp_path, capsys)
    assert "no such file" in _stylize_error(tmp_path / "none.onnx", tmp_path, capsys)
    assert "is the style graph, not the step graph" in _stylize_error(style_path(exported), tmp_path, capsys)
    lonely = tmp_path / "lonely.onnx"  # a step graph without its style graph
    lonely.write_bytes(exported.read_bytes())
    assert "lonely.style.onnx: no such file" in _stylize_error(lonely, tmp_path, capsys)
    with pytest.raises(OnnxModelError, match="not exported by styleenv"):
        foreign = onnx.load(str(exported))
        del foreign.metadata_props[:]
        onnx.save(foreign, str(tmp_path / "foreign.onnx"))
        (tmp_path / "foreign.style.onnx").write_bytes(style_path(exported).read_bytes())
        OnnxStylizer(tmp_path / "foreign.onnx")
