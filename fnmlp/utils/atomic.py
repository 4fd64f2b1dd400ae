"""Files that are either fully written or not there at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # what open() would give a new file; read once, at import


@contextlib.contextmanager
def atomic_write(path: Union[str, os.PathLike], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit flush, fsync and rename it onto ``path``,
    then fsync the directory so the rename survives a crash.

    If the block raises (``KeyboardInterrupt`` included), the temporary file is removed and whatever
    was at ``path`` before is left untouched. The new file gets the permissions ``open`` would give.
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Union[str, os.PathLike]) -> None:
    """Make a rename in ``directory`` durable, where the platform lets a directory be synced."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
