"""Looking at a ledger's database from outside, as someone with a login or the files would.

``sql`` runs a statement on its own connection. ``database_bytes`` reads a live SQLite database's
files from another process: SQLite's locks are POSIX advisory locks, which belong to a process, so
opening and closing the database, ``-wal`` or ``-shm`` file in the test's own process would silently
drop the locks its connections hold (a held read snapshot included), and the test would observe
something no real deployment does.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg

_CAT = "import sys; sys.stdout.buffer.write(b''.join(open(p, 'rb').read() for p in sys.argv[1:]))"


def database_bytes(database: Path) -> bytes:
    """The bytes of the database file and its -wal, -shm and -journal files, read by another process."""
    files = sorted(str(f) for f in database.parent.glob(database.name + "*"))
    return subprocess.run([sys.executable, "-c", _CAT, *files], capture_output=True, check=True).stdout


def sql(url: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    """Run one statement (``?`` placeholders) on the database at ``url``; its rows, if any."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url[len("sqlite:///"):])) as conn, conn:
            return conn.execute(statement, params).fetchall()
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []
