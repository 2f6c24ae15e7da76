"""Which torch device: one rule for the env, the stylizer and training."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when it is available, else the CPU; anything else as :class:`torch.device` reads it.

    :param device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, or a device
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
