"""Export the stylizer to ONNX: a style graph and a step graph, any image size.

``model.onnx`` (the step) maps a moving image ``1 x 3 x H x W`` (``H``, ``W`` multiples of 4)
and a style's :class:`~agents.networks.StyleTargets` (twelve ``1 x C x 1 x 1`` vectors) to the
next image (the mean action through the builder, unclamped). ``model.style.onnx`` maps a style
image to those vectors, so a sequence encodes its style once, and blends are mixes of vectors.
Both carry metadata (:data:`FORMAT_KEY`) that :mod:`agents.onnx_runtime` checks. Needs the
``onnx`` extra: ``pip install 'styleenv[onnx]'``.
"""

from __future__ import annotations

import copy
import hashlib
import os
import warnings
from dataclasses import fields
from pathlib import Path

import torch
from torch import nn

from agents.networks import Actor, Builder, StyleTargets, cpu_forms
from styleenv.files import atomic_write

FORMAT_KEY = "styleenv.onnx_format"
FORMAT_VERSION = "1"
GRAPH_KEY = "styleenv.graph"
MODEL_KEY = "styleenv.model"
OPSET = 17
TARGET_NAMES = tuple(f.name for f in fields(StyleTargets))
INSTALL_HINT = "pip install 'styleenv[onnx]' (onnx and onnxruntime)"


def style_path(path: str | os.PathLike) -> Path:
    """Where the style graph of the step graph ``path`` lives: ``model.onnx`` -> ``model.style.onnx``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.style{path.suffix or '.onnx'}")


class StyleGraph(nn.Module):
    """Style image ``1 x 3 x H x W`` -> the twelve target vectors (in :data:`TARGET_NAMES` order)."""

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, style: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.actor.encode_style(style).targets().tensors().values())


class StepGraph(nn.Module):
    """One deterministic step: moving image and target vectors -> the next image ``1 x 3 x H x W``."""

    def __init__(self, actor: Actor, builder: Builder) -> None:
        super().__init__()
        self.actor = actor
        self.builder = builder

    def forward(self, moving: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        action = self.actor.mean_action(moving)  # 1 x 64 x H/4 x W/4
        return self.builder(action, StyleTargets(*targets))


def model_id(actor: Actor, builder: Builder) -> str:
    """A short fingerprint of the weights, written into both graphs so that they are used together."""
    digest = hashlib.sha256()
    for module in (actor, builder):
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _onnx():
    try:
        import onnx
    except ImportError:
        raise RuntimeError(f"exporting to ONNX needs the onnx extra: {INSTALL_HINT}") from None
    return onnx


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            dynamic: dict, metadata: dict[str, str]) -> Path:
    onnx = _onnx()

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's notes on constant folding
            torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs,
                              dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
        model = onnx.load(str(tmp))
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))

    return atomic_write(path, write)


def export_onnx(actor: Actor, builder: Builder, path: str | os.PathLike, example_size: int = 64) -> dict[str, Path]:
    """Write the step graph to ``path`` and the style graph beside it (:func:`style_path`).

    :param actor: the actor
    :param builder: the builder
    :param path: the step graph's file, e.g. ``model.onnx``
    :param example_size: side of the example images traced (the graphs take any size)
    :return: ``{"step": path, "style": style path}``
    :raises ValueError: the networks run in the CPU forms of a :class:`~agents.stylizer.Stylizer`
        (their buffers would be traced as constants)
    """
    forms = sorted({type(m).__name__ for net in (actor, builder) for m in net.modules()
                    if type(m).__module__ == cpu_forms.__name__})
    if forms:
        raise ValueError(f"these networks run in CPU forms ({', '.join(forms)}), which do not trace: export the "
                         "plain networks, e.g. agents.release.load_checkpoint(FILE)[:2]")
    actor, builder = copy.deepcopy(actor).cpu().eval(), copy.deepcopy(builder).cpu().eval()  # the caller's stay as they are
    meta = {FORMAT_KEY: FORMAT_VERSION, MODEL_KEY: model_id(actor, builder)}
    image = torch.rand(1, 3, example_size, example_size)
    spatial = {2: "height", 3: "width"}
    with torch.no_grad():
        targets = actor.encode_style(image).targets().tensors()
        style = _export(StyleGraph(actor), (image,), style_path(path), ["style"], list(TARGET_NAMES),
                        {"style": spatial}, meta | {GRAPH_KEY: "style"})
        step = _export(StepGraph(actor, builder), (image, *targets.values()), Path(path),
                       ["moving", *TARGET_NAMES], ["next"], {"moving": spatial, "next": spatial},
                       meta | {GRAPH_KEY: "step"})
    return {"step": step, "style": style}
