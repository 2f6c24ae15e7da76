"""Shared fixtures. Tests that read ``../shared`` skip where it is absent, except under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED = Path(os.environ.get("STYLEENV_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))

torch.set_num_threads(min(2, torch.get_num_threads()))


def on_ci() -> bool:
    """Whether the suite runs under CI (``CI=true``), where nothing it needs may be missing."""
    return os.environ.get("CI") == "true"


def need(module: str, extra: str) -> None:
    """Skip the calling test (or module, at import) where an optional package is missing, except
    under CI, which installs every extra: there its absence fails.

    :param module: the package to import
    :param extra: the styleenv extra that installs it
    """
    try:
        __import__(module)
    except ImportError:
        message = f"{module} is missing: the {extra} extra (pip install 'styleenv[{extra}]')"
        if on_ci():
            pytest.fail(f"{message}, which CI installs", pytrace=False)
        pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only ``shared`` folder beside the checkout (reference weights, real images)."""
    if not SHARED.is_dir():
        if on_ci():
            pytest.fail(f"{SHARED} is missing, and CI must have it beside the checkout")
        pytest.skip(f"{SHARED} is absent: reference checkpoints and data are not available here")
    return SHARED


@pytest.fixture(scope="session")
def reference(shared: Path) -> Path:
    """The released RLMiniStyler checkpoints and reference outputs."""
    return shared / "reference" / "rlministyler"


@pytest.fixture(scope="session", autouse=True)
def sb3_logs_in_pytest_tmp(tmp_path_factory: pytest.TempPathFactory):
    """SB3 models built without a log folder make a fresh one in the system's temp folder;
    point them at pytest's, which is cleaned up."""
    patch = pytest.MonkeyPatch()
    patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3-logs")))
    yield
    patch.undo()
