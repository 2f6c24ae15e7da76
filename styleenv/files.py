"""Writing a file atomically: under a temporary name beside it, then renamed onto it.

An interrupted or failed write never leaves a half-written file under the target's name: the
target is either the old file or the new one, and the temporary file is removed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any], sync: bool = False) -> Path:
    """Call ``write(temporary_path)``, then move the temporary file onto ``path`` (:func:`os.replace`).

    The temporary file has a unique hidden name in the target's folder (one file system, so the
    move is atomic). ``write`` creates it, so it gets the usual permissions.

    :param path: the destination (its folder is created)
    :param write: writes the whole file at the path it is given
    :param sync: flush the file to the disk before the move (checkpoints that must survive a crash)
    :return: the destination
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        if sync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
