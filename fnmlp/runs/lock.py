"""One writer per run directory: an exclusive ``flock`` on ``DIR/run.lock``, held for the writer's life.

The kernel drops the lock when the holding process ends, however it ends (a ``kill -9`` included), so
a dead run never leaves a stale lock. The lock file itself is never removed: removing it would let a
second writer lock a new file while the first still holds the old one. While held, the file names its
holder (``pid``, ``host``, ``started``), so a refused writer can say who is writing.

On NFS, Linux maps ``flock`` onto byte-range locks that the server arbitrates, so the lock also holds
between machines that share the directory.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Optional, Union

LOCK_FILE = "run.lock"


class RunLocked(Exception):
    """Another live process holds the run directory; ``holder`` is its ``{"pid", "host", "started"}``
    (empty if it had not written them yet)."""

    def __init__(self, directory: Path, holder: dict):
        self.directory, self.holder = directory, holder
        who = (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
               if holder else "a process that has not named itself yet")
        super().__init__(f"{directory} is being written by another fnmlp process ({who})")


class RunLock:
    """An exclusive lock on a run directory; ``release`` it, or use it as a context manager."""

    def __init__(self, directory: Path, fd: int):
        self.directory, self._fd = directory, fd

    @classmethod
    def acquire(cls, directory: Union[str, os.PathLike]) -> "RunLock":
        """Lock the existing ``directory`` without waiting; raise ``RunLocked`` if another process holds it."""
        directory = Path(directory)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked(directory, _read_holder(directory / LOCK_FILE)) from None
        except BaseException:
            os.close(fd)
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        return cls(directory, fd)

    def release(self) -> None:
        """Unlock (idempotent). The holder's line stays in the file; only a held lock makes it true."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def holder(directory: Union[str, os.PathLike]) -> Optional[dict]:
    """The holder of ``directory``'s lock if a live process holds it, else ``None``; takes no lock."""
    path = Path(directory) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path)
    finally:
        os.close(fd)
    return None


def _read_holder(path: Path, wait: float = 1.0) -> dict:
    """The holder's line; the holder writes it just after locking, so wait up to ``wait`` seconds for it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            if time.monotonic() >= deadline:
                return {}
            time.sleep(0.02)
