"""Files under the data dir are the owner's only: the dir 0700, what is written there 0600.

The data dir holds the SQLite databases, the dev consumers' credentials and the NATS store:
none of it is for other users of the machine.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> int:
    """Files and dirs this process (and its children, NATS included) creates are the owner's
    only; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create `path` (0700), or take group and other access away from it when it is ours and
    not a shared dir (sticky, like /tmp)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    info = path.stat()
    shared = info.st_mode & stat.S_ISVTX
    if info.st_uid == os.getuid() and not shared and stat.S_IMODE(info.st_mode) & 0o077:
        with contextlib.suppress(PermissionError):
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty (0600) when missing, else take group and other access away."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only from the first byte on, and whole:
    a reader sees the old file or the new one (written beside it, then renamed)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(fd, FILE_MODE)
        handle.write(text)
    os.replace(tmp, path)
