"""Memory of a process, read from Linux's ``/proc`` (for the benchmark scripts): now, at its peak,
and its proportional share of pages it shares with others."""

from __future__ import annotations

import os


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now, MB.

    :param pid: process id (``"self"``: this process)
    """
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB (``VmHWM``).

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that across ``exec``, so a process started by
    a larger one would report its parent's peak.
    """
    return _field_kb("/proc/self/status", "VmHWM:") / 1024


def pss_mb(pid: int | str = "self") -> float:
    """Proportional set size of a process, MB: each page it shares with others counts for its share,
    so the sizes of a process and its forked workers add up without counting shared pages twice.

    :param pid: process id (``"self"``: this process)
    """
    return _field_kb(f"/proc/{pid}/smaps_rollup", "Pss:") / 1024


def _field_kb(path: str, name: str) -> int:
    """The kB value of the line starting with ``name`` in a ``/proc`` file."""
    with open(path) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(name))
