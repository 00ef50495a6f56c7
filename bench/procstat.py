"""CPU time and resident memory of another process (and its children), read from outside it.

The benchmark charges the bot only for what its own process tree burns, so the numbers come
from the kernel, not from inside the measured event loop. psutil is used when installed;
otherwise /proc (Linux) is read directly, so the bench needs no extra dependency.
"""

from __future__ import annotations

import os
from pathlib import Path

try:  # optional: the same numbers, portable beyond Linux
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (which may hold spaces)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    """Live descendants of `pid` (a process pool for media work would be one)."""
    if psutil is not None:
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _own_cpu(pid: int, *, reaped: bool) -> float:
    """User + system seconds of one process, all threads; `reaped` adds children it waited for."""
    if psutil is not None:
        times = psutil.Process(pid).cpu_times()
        extra = times.children_user + times.children_system if reaped else 0.0
        return float(times.user + times.system + extra)
    fields = _stat_fields(pid)  # utime stime cutime cstime are fields 14-17, i.e. [11:15] here
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)
    return ticks / _TICK


def cpu_seconds(pid: int) -> float:
    """CPU seconds the process tree rooted at `pid` has used so far."""
    total = _own_cpu(pid, reaped=True)
    for child in _children(pid):
        try:
            total += _own_cpu(child, reaped=False)
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile; its time shows in the parent's reaped total once waited for
        except Exception as error:  # psutil.NoSuchProcess and friends
            if psutil is None or not isinstance(error, psutil.Error):
                raise
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of the process tree rooted at `pid`."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            if psutil is not None:
                total += int(psutil.Process(each).memory_info().rss)
            else:
                total += int(Path(f"/proc/{each}/statm").read_text().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
        except Exception as error:
            if psutil is None or not isinstance(error, psutil.Error):
                raise
    return total
