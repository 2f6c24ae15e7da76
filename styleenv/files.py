"""Writing a file atomically: under a temporary name beside it, then renamed onto it.

An interrupted or failed write never leaves a half-written file under the target's name: the
target is either the old file or the new one, and the temporary file is removed. A process
killed outright (SIGKILL, power loss) cannot remove it; temporary names carry the writer's
process id, so :func:`remove_stale_temporaries` clears them on the next start.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


#: ``.<name>.<pid>.<random>.tmp``: the temporary names of this module and of staging folders.
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[0-9a-z_]+\.tmp$")


def is_writable_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an existing folder this process may create files in."""
    return Path(path).is_dir() and os.access(path, os.W_OK)


def temporary_name(name: str) -> str:
    """A unique hidden name for a temporary copy of ``name``, carrying this process's id."""
    return f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files and folders left in ``folder`` by processes that no longer run.

    Only names of :func:`temporary_name`'s form whose process id is not a running process are
    removed (a live writer's are kept); a missing folder is fine.

    :param folder: the folder to clean (not recursive)
    :return: what was removed
    """
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


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
    tmp = path.with_name(temporary_name(path.name))
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
