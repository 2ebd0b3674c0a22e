"""Files only the service user may read: the SQLite database, the signing key, the vault's master key.

They are created with mode 0600 whatever the umask; SQLite gives the ``-wal``, ``-shm`` and
``-journal`` files it makes the mode of the database file, so those stay private too.

A key file is accepted when no other user can read it: readable by its owner only (0600, 0400),
or also by its group when that group is the owner's own private group (named like the owner,
the owner's primary group, no other members listed), as in 0640 or 0440. A group may never
write it and other users may never read it.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path


def create_private(path: Path, content: bytes = b"") -> bool:
    """Create ``path`` with mode 0600 holding ``content``, unless it exists; True when it was made.

    An empty file is a valid new SQLite database, so a database is pre-created this way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return True


def exposure(path: Path) -> str | None:
    """Why users other than the owner could read or change ``path`` (Chinese), or None if none can."""
    status = path.stat()
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o007:
        return f"权限为 {mode:04o}，其他用户可以访问"
    if mode & 0o030:
        return f"权限为 {mode:04o}，同组用户可以改写"
    if mode & 0o040 and not _private_group(status.st_uid, status.st_gid):
        return f"权限为 {mode:04o}，所属组不是文件所有者独用的组，同组用户可以读取"
    return None


def _private_group(uid: int, gid: int) -> bool:
    try:
        owner = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return owner.pw_gid == gid and group.gr_name == owner.pw_name and not group.gr_mem
