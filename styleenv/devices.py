"""Which torch device, and how many CPU threads: one rule for the env, the stylizer and training."""

from __future__ import annotations

import ctypes
import os
import time

import torch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_MEMORY_REUSED = False
_FORK_RULE = False


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when it is available, else the CPU; anything else as :class:`torch.device` reads it.

    :param device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, or a device
    :raises ValueError: (one line) for a name torch does not know, or CUDA asked for where it is absent
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {str(device)!r} is not a torch device (use auto, cpu, cuda or cuda:N)") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} asked for, but CUDA is not available here (use --device cpu)")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return resolved


def cpu_bf16_native() -> bool:
    """Whether oneDNN runs bfloat16 convolutions on this CPU in hardware (AVX-512 or AMX). Without
    it (an AVX2-only CPU) torch emulates them, and a bfloat16 autocast pass runs several times
    slower than float32 instead of faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def _cpu_jiffies() -> tuple[int, int] | None:
    """``(busy, total)`` CPU time of the whole machine so far from ``/proc/stat``, or None without it."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    total = sum(fields)
    return total - fields[3] - fields[4], total


def busy_cores(window: float = 0.1) -> float:
    """Cores the machine's other processes keep busy now: the share of CPU time spent outside
    idle during ``window`` seconds (``/proc/stat``) times the core count; where there is no
    ``/proc/stat``, the 1-minute load average (which lags: it still counts a job that ended
    a minute ago), and 0 where there is neither.

    :param window: seconds to watch (the caller sleeps through them, so it is not counted)
    """
    before = _cpu_jiffies()
    if before is not None:
        time.sleep(window)
        after = _cpu_jiffies()
        if after is not None and after[1] > before[1]:
            return (after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1)
    try:
        return os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return 0.0


def free_cores() -> int:
    """CPU cores free for this process: those it may run on, less the cores busy elsewhere
    (:func:`busy_cores`, rounded), and at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores - round(busy_cores()))


def choose_threads(threads: int | None = None) -> int:
    """The CPU thread count to use: ``threads`` when given, else torch's default capped at the
    free cores (:func:`free_cores`). More threads than free cores make every operator wait at its
    barrier for a thread the scheduler has put aside, which on a busy machine costs more than the
    extra core brings.

    :param threads: an explicit count (at least 1), or None / 0 for the rule above
    """
    if threads is not None and threads < 0:
        raise ValueError(f"threads must be at least 1 (or 0 for automatic), got {threads}")
    if threads:
        return threads
    return max(1, min(torch.get_num_threads(), free_cores()))


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads by :func:`choose_threads`; returns the count set."""
    count = choose_threads(threads)
    torch.set_num_threads(count)
    return count


def reuse_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse instead of returning them to the system.

    CPU inference allocates and frees maps of several MB per operator; by default each comes
    fresh from the kernel and is paid again in page faults (an elementwise operator on a 4 MB
    map ran 7x slower). Raising the mmap and trim thresholds to 1 GB lets the heap serve them
    again. It affects the whole process (its resident memory no longer shrinks after a peak,
    which it does not raise); without glibc it does nothing.

    :return: whether the thresholds were set
    """
    global _MEMORY_REUSED
    if _MEMORY_REUSED:
        return True
    try:
        libc = ctypes.CDLL("libc.so.6")
        _MEMORY_REUSED = bool(libc.mallopt(_M_MMAP_THRESHOLD, 2**30)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**30))
    except (OSError, AttributeError):  # not glibc
        _MEMORY_REUSED = False
    return _MEMORY_REUSED


def one_thread_after_fork() -> None:
    """Have forked child processes run torch on one CPU thread (registered once per process).

    torch's CPU thread pool does not survive a ``fork``: a child's first parallel operator waits
    for it forever, so Gymnasium's ``AsyncVectorEnv`` (the ``fork`` start method, Linux's default
    before Python 3.14) hung as soon as torch had computed anything in the parent. torch's own
    DataLoader workers run on one thread for the same reason. Importing :mod:`styleenv` calls it.
    """
    global _FORK_RULE
    if not _FORK_RULE and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: torch.set_num_threads(1))
        _FORK_RULE = True
