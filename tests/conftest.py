"""Shared fixtures. Tests that read ``../shared`` skip where it is absent, except under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED = Path(os.environ.get("STYLEENV_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only ``shared`` folder beside the checkout (reference weights, real images)."""
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED} is missing, and CI must have it beside the checkout")
        pytest.skip(f"{SHARED} is absent: reference checkpoints and data are not available here")
    return SHARED


@pytest.fixture(scope="session")
def reference(shared: Path) -> Path:
    """The released RLMiniStyler checkpoints and reference outputs."""
    return shared / "reference" / "rlministyler"
