"""Files that are either fully written or not there at all.

``atomic_write`` replaces a regular file, or creates one where nothing is; through a symbolic link it
replaces the file the link points to (the link stays). Anything else at the path (a directory, a
named pipe, a socket, a device) is refused with a ``ValueError`` before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # what open() would give a new file; read once, at import

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link loop"))


def write_target(path: PathLike, name: str = "path") -> Path:
    """The file an atomic write to ``path`` replaces: ``path`` itself, or, when ``path`` is a symbolic
    link (a chain of them included), the file it finally points to, which need not exist yet.

    Raises ``ValueError`` naming ``name`` when that is anything but a regular file or a missing one.
    A missing directory is left for the write itself to report (``FileNotFoundError``).
    """
    given = os.fspath(path)
    target = os.path.realpath(given) if os.path.islink(given) else given
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return Path(target)
    except OSError as error:  # ELOOP, ENAMETOOLONG, EACCES ...
        raise ValueError(f"{name}: expected a regular file or a path where none exists, got {given!r} "
                         f"({error.strerror or error})") from None
    if stat.S_ISREG(mode):
        return Path(target)
    kind = next((text for test, text in _KINDS if test(mode)), "not a regular file")
    through = f", a symbolic link to {target!r}, which is" if target != given else ","
    raise ValueError(f"{name}: expected a regular file or a path where none exists, got {given!r}{through} "
                     f"{kind}")


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb", *, name: str = "path") -> Iterator[IO]:
    """Open a temporary file beside the target (see ``write_target``); on a clean exit flush, fsync
    and rename it onto the target, then fsync the directory so the rename survives a crash.

    If the block raises (``KeyboardInterrupt`` included), the temporary file is removed and whatever
    was at the target before is left untouched. The new file gets the permissions ``open`` would give.
    ``name`` is the argument or option that gave ``path``, for the ``ValueError`` of a target that is
    not a regular file.
    """
    target = write_target(path, name)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _FILE_MODE)
        write_target(target, name)  # once more: never rename over what appeared there meanwhile
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(target.parent)


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
