"""Agents from command-line specs (``styleenv evaluate --agents ...``): :func:`make_agent`, and :func:`make_agents`
of several, named apart, with a record of the weights they read."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from agents.adapters import StylizerAgent
from agents.baselines import AdaINAgent, CopyStyleAgent, IdentityAgent, RandomImageAgent
from agents.colour_transfer import ColourTransferAgent
from agents.default import DEFAULT_CHECKPOINT
from agents.protocol import Agent
from agents.release import ACTOR_FILE, BUILDER_FILE, CheckpointError
from agents.stylizer import Stylizer
from styleenv.weights import sha256_of

#: Agent specs accepted by :func:`make_agent` (for messages).
AGENT_SPECS = "identity, copy-style, random, adain, colour, ours, release[:DIR], checkpoint:FILE, package.module:Name, file.py:Name"

#: Environment variable naming the folder of the released weights, for the bare ``release`` spec.
RELEASE_DIR_ENV = "STYLEENV_RELEASE_DIR"


class AgentSpecError(ValueError):
    """A bad agent spec (unknown name, missing folder or file, unreadable weights); one line."""


def make_agent(spec: str, steps: int = 10, device: str | torch.device = "cpu") -> tuple[str, Agent]:
    """An agent from a command-line spec, with the name it is reported under.

    - ``identity``: returns the moving image unchanged;
    - ``copy-style``: returns the style image; ``random``: uniform noise images (floors);
    - ``adain``: AdaIN at strength k/N on step k (:class:`agents.baselines.AdaINAgent`);
    - ``colour``: colour statistics transfer at strength k/N (:class:`agents.colour_transfer.ColourTransferAgent`);
    - ``ours``: the project's own trained checkpoint, shipped with the package (:mod:`agents.default`);
    - ``release`` or ``release:DIR``: the released RLMiniStyler weights (folder with
      ``actor.pth.tar`` and ``builder.pth.tar``; bare ``release`` reads ``$STYLEENV_RELEASE_DIR``);
    - ``checkpoint:FILE``: a checkpoint of ours (:func:`agents.release.save_checkpoint`),
      reported as ``ckpt-<file stem>`` (:func:`make_agents` tells files of one stem apart);
    - ``package.module:Name`` or ``path/to/file.py:Name``: any agent of yours
      (:func:`import_agent`), reported as ``Name``.

    :param spec: the spec
    :param steps: episode length (the baselines reach full strength at the last step)
    :param device: torch device for the networks
    :raises AgentSpecError: with a one-line reason
    """
    name, agent, _ = _make(spec, steps, device)
    return name, agent


def _make(spec: str, steps: int, device: str | torch.device) -> tuple[str, Agent, Path | None]:
    """:func:`make_agent`'s name and agent, and the resolved file or folder whose weights the agent
    read (None for agents without weights of their own)."""
    kind, _, arg = spec.partition(":")
    if kind == "identity" and not arg:
        return "identity", IdentityAgent(), None
    if spec == "copy-style":
        return "copy-style", CopyStyleAgent(), None
    if spec == "random":
        return "random", RandomImageAgent(), None
    if kind == "adain" and not arg:
        try:
            return "adain", AdaINAgent(steps=steps, device=device), None
        except FileNotFoundError as err:  # styleenv.weights.WeightsError
            raise AgentSpecError(f"adain: {str(err).splitlines()[0]}") from None
    if kind == "colour" and not arg:
        return "colour", ColourTransferAgent(steps), None
    if spec == "ours":
        return "ours", _stylizer_agent(lambda: Stylizer.default(device)), DEFAULT_CHECKPOINT.resolve()
    if kind == "release":
        folder = arg or os.environ.get(RELEASE_DIR_ENV)
        if not folder:
            raise AgentSpecError(f"'release' needs a folder: release:DIR (or set {RELEASE_DIR_ENV})")
        if not Path(folder).is_dir():
            raise AgentSpecError(f"release: folder {folder} does not exist")
        return "release", _stylizer_agent(lambda: Stylizer.from_release(folder, device)), Path(folder).resolve()
    if kind == "checkpoint":
        if not arg:
            raise AgentSpecError("'checkpoint' needs a file: checkpoint:FILE")
        if not Path(arg).is_file():
            raise AgentSpecError(f"checkpoint: file {arg} does not exist")
        return f"ckpt-{Path(arg).stem}", _stylizer_agent(lambda: Stylizer.from_checkpoint(arg, device)), Path(arg).resolve()
    if arg.isidentifier() and kind:
        return arg, import_agent(kind, arg, steps=steps, device=device), None
    raise AgentSpecError(f"unknown agent {spec!r}; choose from {AGENT_SPECS}")


def make_agents(
    specs: Sequence[str], steps: int = 10, device: str | torch.device = "cpu"
) -> tuple[dict[str, Agent], dict[str, dict[str, str]]]:
    """The agents of several specs (:func:`make_agent`) by name, and what those that read weights read.

    Checkpoints or releases of one name in different places get as many of their folders in
    the name as tell them apart: ``checkpoint:a/final.pt checkpoint:b/final.pt`` are
    ``ckpt-a-final`` and ``ckpt-b-final``, ``release:x/v1 release:y/v1`` are ``release-x-v1``
    and ``release-y-v1``; alone, they keep the plain name.

    :param specs: the specs
    :param steps: episode length
    :param device: torch device for the networks
    :return: the agents by name, and for ``ours``, ``release`` and ``checkpoint`` agents by name
        the :func:`weights_record` of their weights
    :raises AgentSpecError: a bad spec, or one agent given twice
    """
    made = [(spec, *_make(spec, steps, device)) for spec in specs]
    agents: dict[str, Agent] = {}
    weights: dict[str, dict[str, str]] = {}
    for spec, name, agent, path in made:
        rivals = {p for _, n, _, p in made if n == name and p is not None}
        if path is not None and len(rivals) > 1:
            name = _distinct_name(spec, path, rivals) or name
        if name in agents:
            raise AgentSpecError(f"agent {name!r} is given twice")
        agents[name] = agent
        if path is not None:
            weights[name] = weights_record(path)
    return agents, weights


def weights_record(path: Path) -> dict[str, str]:
    """What an agent's weights were read from: ``{"path", "sha256"}`` of a checkpoint file, or of
    a release folder (the sha256 of its actor's and builder's sha256s).

    :param path: a checkpoint file or a release folder
    """
    path = path.resolve()
    if path.is_dir():
        digest = hashlib.sha256("".join(sha256_of(path / f) for f in (ACTOR_FILE, BUILDER_FILE)).encode()).hexdigest()
    else:
        digest = sha256_of(path)
    return {"path": str(path), "sha256": digest}


def _distinct_name(spec: str, path: Path, rivals: set[Path]) -> str | None:
    """The shortest ``ckpt-<folders>-<stem>`` / ``release-<folders>`` name that tells ``path`` from
    the other ``rivals`` of its name; None where none does."""
    def words(p: Path) -> tuple[str, ...]:
        tail = p.relative_to(p.anchor)
        return tail.parts if p.is_dir() else (*tail.parent.parts, tail.stem)

    mine = words(path)
    for k in range(1, len(mine) + 1):
        if all(words(p)[-k:] != mine[-k:] for p in rivals - {path}):
            return ("release-" if spec.partition(":")[0] == "release" else "ckpt-") + "-".join(mine[-k:])
    return None


def import_agent(where: str, name: str, steps: int = 10, device: str | torch.device = "cpu") -> Agent:
    """An agent of yours: ``name`` in the module ``where`` (a dotted module path importable from
    the current folder or ``sys.path``, or a ``.py`` file), called to make the agent.

    ``name`` is a class or a factory function; it is called with the keyword arguments among
    ``steps`` (the episode length) and ``device`` (a torch device string) that its signature
    takes, or with none. What it returns must have ``act(observation)`` (:mod:`agents.protocol`).

    :param where: ``package.module`` or ``path/to/file.py``
    :param name: the class or factory in it
    :param steps: episode length, passed where the signature takes ``steps``
    :param device: torch device, passed where the signature takes ``device``
    :raises AgentSpecError: the module cannot be imported, has no ``name``, or makes no agent
    """
    try:
        module = _load_module(where)
    except Exception as err:  # a user's module may raise anything while it is imported
        raise AgentSpecError(f"cannot import {where}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    make = getattr(module, name, None)
    if not callable(make):
        raise AgentSpecError(f"{where} has no class or function named {name}")
    offered = {"steps": steps, "device": str(device)}
    try:
        params = inspect.signature(make).parameters
        takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
        agent = make(**{k: v for k, v in offered.items() if takes_all or k in params})
    except Exception as err:
        raise AgentSpecError(f"{where}:{name} could not make an agent: {type(err).__name__}: {err}") from None
    if not callable(getattr(agent, "act", None)):
        raise AgentSpecError(f"{where}:{name} made a {type(agent).__name__}, which has no act(observation) method")
    return agent


def _load_module(where: str) -> Any:
    """A module by dotted path (the current folder first on the path), or a ``.py`` file."""
    if where.endswith(".py") or "/" in where or os.sep in where:
        path = Path(where)
        if not path.is_file():
            raise FileNotFoundError(f"no file {path}")
        module_name = f"styleenv_agent_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # what `python -m` would find: the user's own packages
    return importlib.import_module(where)


def _stylizer_agent(load: Callable[[], Stylizer]) -> StylizerAgent:
    """A :class:`StylizerAgent` of the stylizer ``load()`` returns; an unreadable checkpoint is an :class:`AgentSpecError`."""
    try:
        return StylizerAgent(load())
    except CheckpointError as err:
        raise AgentSpecError(str(err).splitlines()[0]) from None
