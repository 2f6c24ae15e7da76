"""Agents from command-line specs (``styleenv evaluate --agents ...``): :func:`make_agent`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from agents.adapters import StylizerAgent
from agents.baselines import AdaINAgent, IdentityAgent
from agents.colour_transfer import ColourTransferAgent
from agents.protocol import Agent
from agents.release import CheckpointError
from agents.stylizer import Stylizer

#: Agent specs accepted by :func:`make_agent` (for messages).
AGENT_SPECS = "identity, adain, colour, ours, release[:DIR], checkpoint:FILE"

#: Environment variable naming the folder of the released weights, for the bare ``release`` spec.
RELEASE_DIR_ENV = "STYLEENV_RELEASE_DIR"


class AgentSpecError(ValueError):
    """A bad agent spec (unknown name, missing folder or file, unreadable weights); one line."""


def make_agent(spec: str, steps: int = 10, device: str | torch.device = "cpu") -> tuple[str, Agent]:
    """An agent from a command-line spec, with the name it is reported under.

    - ``identity``: returns the moving image unchanged;
    - ``adain``: AdaIN at strength k/N on step k (:class:`agents.baselines.AdaINAgent`);
    - ``colour``: colour statistics transfer at strength k/N (:class:`agents.colour_transfer.ColourTransferAgent`);
    - ``ours``: the project's own trained checkpoint, shipped with the package (:mod:`agents.default`);
    - ``release`` or ``release:DIR``: the released RLMiniStyler weights (folder with
      ``actor.pth.tar`` and ``builder.pth.tar``; bare ``release`` reads ``$STYLEENV_RELEASE_DIR``);
    - ``checkpoint:FILE``: a checkpoint of ours (:func:`agents.release.save_checkpoint`),
      reported as ``ckpt-<file stem>``.

    :param spec: the spec
    :param steps: episode length (the baselines reach full strength at the last step)
    :param device: torch device for the networks
    :raises AgentSpecError: with a one-line reason
    """
    kind, _, arg = spec.partition(":")
    if kind == "identity" and not arg:
        return "identity", IdentityAgent()
    if kind == "adain" and not arg:
        try:
            return "adain", AdaINAgent(steps=steps, device=device)
        except FileNotFoundError as err:  # styleenv.weights.WeightsError
            raise AgentSpecError(f"adain: {str(err).splitlines()[0]}") from None
    if kind == "colour" and not arg:
        return "colour", ColourTransferAgent(steps)
    if spec == "ours":
        return "ours", _stylizer_agent(lambda: Stylizer.default(device))
    if kind == "release":
        folder = arg or os.environ.get(RELEASE_DIR_ENV)
        if not folder:
            raise AgentSpecError(f"'release' needs a folder: release:DIR (or set {RELEASE_DIR_ENV})")
        if not Path(folder).is_dir():
            raise AgentSpecError(f"release: folder {folder} does not exist")
        return "release", _stylizer_agent(lambda: Stylizer.from_release(folder, device))
    if kind == "checkpoint":
        if not arg:
            raise AgentSpecError("'checkpoint' needs a file: checkpoint:FILE")
        if not Path(arg).is_file():
            raise AgentSpecError(f"checkpoint: file {arg} does not exist")
        return f"ckpt-{Path(arg).stem}", _stylizer_agent(lambda: Stylizer.from_checkpoint(arg, device))
    raise AgentSpecError(f"unknown agent {spec!r}; choose from {AGENT_SPECS}")


def _stylizer_agent(load: Callable[[], Stylizer]) -> StylizerAgent:
    """A :class:`StylizerAgent` of the stylizer ``load()`` returns; an unreadable checkpoint is an :class:`AgentSpecError`."""
    try:
        return StylizerAgent(load())
    except CheckpointError as err:
        raise AgentSpecError(str(err).splitlines()[0]) from None
