"""Run an exported model (:mod:`agents.onnx_export`) in onnxruntime, with the Stylizer's interface.

:class:`OnnxStylizer` has :meth:`~OnnxStylizer.encode_style` and :meth:`~OnnxStylizer.steps`,
so recipes (blends, masks, colours; :mod:`agents.recipe`) and videos run on it unchanged. Only
the mean action at full strength is exported. Needs onnxruntime (the ``onnx`` extra).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.networks import StyleCode, StyleTargets
from agents.onnx_export import FORMAT_KEY, FORMAT_VERSION, GRAPH_KEY, INSTALL_HINT, MODEL_KEY, TARGET_NAMES, style_path
from agents.stylizer import MIN_SIDE, check_alpha, check_steps, toward
from styleenv.images import as_batch
from styleenv.pixels import pad_to_multiple


class OnnxModelError(ValueError):
    """An ONNX file that is missing, unreadable, not ours, or from another version of styleenv."""


class OnnxStylizer:
    """k-step stylisation sequences in onnxruntime (CPU).

    :param path: the step graph written by ``styleenv export --onnx FILE`` (its style graph,
        ``FILE`` with ``.style`` before the suffix, beside it)
    :param threads: onnxruntime's intra-op threads (None: its default)
    :raises OnnxModelError: a missing, unreadable or foreign file, graphs of two exports, or no onnxruntime
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise OnnxModelError(f"--runtime onnx needs onnxruntime: {INSTALL_HINT}") from None
        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting threads
        if threads is not None:
            options.intra_op_num_threads = threads
        self.path = Path(path)
        self.step_session = self._open(onnxruntime, options, self.path, "step")
        self.style_session = self._open(onnxruntime, options, style_path(self.path), "style")
        ids = {self._meta(s).get(MODEL_KEY) for s in (self.step_session, self.style_session)}
        if len(ids) != 1:
            raise OnnxModelError(f"{self.path} and {style_path(self.path)} come from two different exports; export again")
        self.device = torch.device("cpu")

    @staticmethod
    def _meta(session: Any) -> dict[str, str]:
        return session.get_modelmeta().custom_metadata_map

    def _open(self, onnxruntime: Any, options: Any, path: Path, graph: str) -> Any:
        hint = "write it with `styleenv export --onnx FILE`"
        if not path.is_file():
            raise OnnxModelError(f"ONNX model {path}: no such file ({hint})")
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types for bad files
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise OnnxModelError(f"cannot read ONNX model {path}: {first[:200]}") from None
        meta = self._meta(session)
        version = meta.get(FORMAT_KEY)
        if version is None:
            raise OnnxModelError(f"ONNX model {path} was not exported by styleenv ({hint})")
        if version == FORMAT_VERSION and meta.get(GRAPH_KEY) != graph:
            raise OnnxModelError(f"ONNX model {path} is the {meta.get(GRAPH_KEY)} graph, not the {graph} graph: "
                                 f"pass the file that `styleenv export --onnx FILE` named FILE")
        if version != FORMAT_VERSION:
            raise OnnxModelError(f"ONNX model {path} is format {version} ({meta.get(GRAPH_KEY)} graph) from another "
                                 f"version of styleenv; this one reads format {FORMAT_VERSION}: export it again ({hint})")
        return session

    def encode_style(self, style: Any) -> StyleTargets:
        """The targets of one style image (any size; padded to a multiple of 4).

        :param style: an image-like or a float tensor ``1 x 3 x H x W``
        """
        batch = as_batch(style)
        if batch.shape[0] != 1:
            raise ValueError(f"expected one style image, got a batch of {batch.shape[0]}")
        outputs = self.style_session.run(None, {"style": pad_to_multiple(batch.float(), min_side=MIN_SIDE).numpy()})
        return StyleTargets(*(torch.from_numpy(o) for o in outputs))

    def steps(
        self,
        content: Any,
        style: Any,
        steps: int = 10,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(k, image)`` for k = 1..steps, ``image`` the unclamped float ``1 x 3 x H x W``.

        Arguments as :meth:`agents.stylizer.Stylizer.steps`; only the mean action (no ``sample``).
        """
        if sample:
            raise ValueError("the ONNX model runs the mean action (no sample)")
        check_steps(steps, None)
        check_alpha(alpha)
        targets = style if isinstance(style, (StyleCode, StyleTargets)) else self.encode_style(style)
        feeds = {name: np.ascontiguousarray(t.detach().cpu().float().numpy())
                 for name, t in zip(TARGET_NAMES, targets.targets().tensors().values())}
        moving = as_batch(content).float()
        if moving.shape[0] != 1:
            raise ValueError(f"the ONNX model takes one content image, got a batch of {moving.shape[0]}")
        h, w = moving.shape[-2:]
        for k in range(1, steps + 1):
            x = np.ascontiguousarray(pad_to_multiple(moving, min_side=MIN_SIDE).numpy())  # 1 x 3 x H' x W'
            (out,) = self.step_session.run(None, {"moving": x, **feeds})
            moving = toward(moving, torch.from_numpy(out)[:, :, :h, :w], alpha)
            yield k, moving


def compare_with_torch(runner: OnnxStylizer, actor: Any, builder: Any, size: int = 256, seed: int = 0) -> dict[str, float]:
    """Largest absolute differences between onnxruntime and PyTorch on one random ``size`` px pair.

    :param runner: the exported model
    :param actor: the PyTorch actor it was exported from
    :param builder: the PyTorch builder
    :return: ``{"style": ..., "step": ...}``: over the target vectors, and over one step's image
    """
    generator = torch.Generator().manual_seed(seed)
    content, style = torch.rand(2, 1, 3, size, size, generator=generator)
    actor, builder = copy.deepcopy(actor).cpu().eval(), copy.deepcopy(builder).cpu().eval()  # the caller's stay as they are
    with torch.no_grad():
        reference = actor.encode_style(pad_to_multiple(style, min_side=MIN_SIDE)).targets()  # padded as the runner does
        padded = pad_to_multiple(content, min_side=MIN_SIDE)
        expected = builder(actor.mean_action(padded), reference)[:, :, :size, :size]
    targets = runner.encode_style(style)
    style_diff = max(float((a - b).abs().max()) for a, b in zip(targets.tensors().values(), reference.tensors().values()))
    _, out = next(runner.steps(content, reference, steps=1))
    return {"style": style_diff, "step": float((out - expected).abs().max())}
