"""The stylizer's deterministic step on CUDA, captured as one CUDA graph per input shape.

A step (content-mode encoder, mean action, builder) is about a hundred small kernels; for a
0.37 M-parameter model at small sizes launching them costs more than running them. A CUDA
graph records the launches of one step once per shape and replays them with one call. The
moving image and the style code are copied into the graph's fixed input buffers before each
replay, so one graph serves every style of the same size. Optional bfloat16 autocast (the
callers keep it off unless its outputs stay within 2/255 of fp32 for them:
``scripts/bench_stylize.py --device cuda`` prints the difference).

Nothing here runs on the CPU: :class:`agents.stylizer.Stylizer` selects it only on CUDA.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import fields

import torch

from agents.networks import Actor, Builder, StyleCode, StyleTargets

# Captured graphs kept (least recently used dropped): each holds a step's activations.
MAX_GRAPHS = 4


class _Graph:
    """One captured step: fixed input buffers, the graph, and its fixed output."""

    def __init__(self, step, moving: torch.Tensor, code: StyleCode | StyleTargets) -> None:
        self.moving = moving.clone()
        self.code = type(code)(**{f.name: getattr(code, f.name).clone() for f in fields(code)})
        side = torch.cuda.Stream(moving.device)
        side.wait_stream(torch.cuda.current_stream(moving.device))
        with torch.cuda.stream(side):  # warm-up outside the graph (cuDNN picks its algorithms)
            for _ in range(2):
                step(self.moving, self.code)
        torch.cuda.current_stream(moving.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        # captured on the input's device: torch.cuda.graph's default stream is made once per
        # process, on whichever device was current then
        with torch.cuda.graph(self.graph, stream=side):
            self.out = step(self.moving, self.code)

    def __call__(self, moving: torch.Tensor, code: StyleCode | StyleTargets) -> torch.Tensor:
        self.moving.copy_(moving)
        for f in fields(code):
            getattr(self.code, f.name).copy_(getattr(code, f.name))
        self.graph.replay()
        return self.out


class GraphedStep:
    """Deterministic steps of an actor and a builder on CUDA, replayed from CUDA graphs.

    :param actor: the actor, on a CUDA device, in eval mode
    :param builder: the builder, same device, eval mode
    :param bf16: run the step under bfloat16 autocast (output returned as float32)
    """

    def __init__(self, actor: Actor, builder: Builder, bf16: bool = False) -> None:
        device = next(actor.parameters()).device
        if device.type != "cuda":
            raise ValueError(f"GraphedStep runs on CUDA only; the networks are on {device}")
        self.actor, self.builder, self.bf16 = actor, builder, bf16
        self._graphs: OrderedDict[tuple, _Graph] = OrderedDict()

    def _step(self, moving: torch.Tensor, code: StyleCode | StyleTargets) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.bf16):
            out = self.builder(self.actor.mean_action(moving), code)  # N x 3 x H x W
        return out.float()

    def __call__(self, moving: torch.Tensor, code: StyleCode | StyleTargets) -> torch.Tensor:
        """The next image ``N x 3 x H x W``: a fixed buffer, overwritten by the next call of the same shape.

        :param moving: ``N x 3 x H x W`` on the networks' device, ``H``, ``W`` multiples of 4
        :param code: the style code or targets (same device)
        """
        key = (tuple(moving.shape), moving.stride(), type(code),
               tuple(getattr(code, f.name).shape for f in fields(code)))
        graph = self._graphs.pop(key, None)
        if graph is None:
            while len(self._graphs) >= MAX_GRAPHS:
                self._graphs.popitem(last=False)
            graph = _Graph(self._step, moving, code)
        self._graphs[key] = graph
        return graph(moving, code)
