"""Signed checkpoints (C2SP tlog-checkpoint) of the ledger's tree, kept in ``ledger_checkpoints``.

**Origin.** A checkpoint's first line names the log; the verifier key carries the same name
(:func:`ledger.integrity.note.open_checkpoint` insists on it). The name is
``xinfang-ledger/<log name>``, where the log name is, in this order:

1. the origin of the first checkpoint this ledger stored: once a checkpoint has been issued the
   name never changes, whatever the file is later called or the environment says;
2. ``XINFANG_LOG_NAME`` (e.g. the county: ``XINFANG_LOG_NAME=示范县``);
3. the database: the SQLite file's name without its suffix (``var/xinfang.sqlite3`` →
   ``xinfang``), or the PostgreSQL database name (``/<schema>`` appended for a schema other
   than ``public``).

Whitespace and ``+`` (not allowed in key names) become ``-``.

**Issuing.** :meth:`Checkpoints.issue` signs the current tree size and root with the key of
:mod:`ledger.integrity.keys` and appends the note to ``ledger_checkpoints``; if the tree has not
grown since the newest stored checkpoint, that one is returned instead of a duplicate row. A
new checkpoint is only signed after a consistency proof from the newest stored one checks out
against the stored nodes, so the ledger never signs a tree whose right edge contradicts what it
signed before. That is an O(log n) guard, not a verification: ``xinfang verify`` re-hashes
everything, and only a witness holding earlier checkpoints catches a history rewritten together
with the stored checkpoints.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.config import is_postgres, sqlite_path
from ledger.errors import IntegrityFailure
from ledger import merkle
from ledger.integrity import note
from ledger.integrity.keys import key_path, load_key
from ledger.integrity.proofs import Proofs
from ledger.integrity.tables import PostgresTables, tables_of
from schemas.proofs import CheckpointAnswer, StoredCheckpoint, VerifierKeyAnswer

__all__ = ["LOG_NAME_VARIABLE", "ORIGIN_PREFIX", "Checkpoints", "default_origin"]

ORIGIN_PREFIX = "xinfang-ledger/"
LOG_NAME_VARIABLE = "XINFANG_LOG_NAME"


def _clean(name: str) -> str:
    return re.sub(r"[\s+]+", "-", name.strip()) or "ledger"


def default_origin(url: str, schema: str | None = None) -> str:
    """The origin a ledger gets before it has stored a checkpoint (see the module docstring)."""
    explicit = os.environ.get(LOG_NAME_VARIABLE)
    if explicit and explicit.strip():
        return ORIGIN_PREFIX + _clean(explicit)
    path = sqlite_path(url)
    if path is not None:
        return ORIGIN_PREFIX + _clean(path.stem)
    if is_postgres(url):
        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if schema and schema != "public":
            name = f"{name}/{schema}"
        return ORIGIN_PREFIX + _clean(name)
    return ORIGIN_PREFIX + "ledger"


class Checkpoints:
    """Issue, store and list the ledger's signed checkpoints."""

    def __init__(self, reader: Any, url: str) -> None:
        self.reader = reader
        self.url = url
        self.tables = tables_of(reader)
        self.proofs = Proofs(reader)
        self._key: Ed25519PrivateKey | None = None

    # ── names and keys ───────────────────────────────────────────────────────

    def origin(self) -> str:
        first = self._rows("ORDER BY id LIMIT 1")
        if first:
            return first[0].note.split("\n", 1)[0]
        schema = self.tables.schema if isinstance(self.tables, PostgresTables) else None
        return default_origin(self.url, schema)

    def signing_key(self) -> Ed25519PrivateKey:
        """The ledger's private key (``XINFANG_KEY_FILE`` or beside the database); ConfigError if absent."""
        if self._key is None:
            self._key = load_key(key_path(self.url))
        return self._key

    def verifier_key(self) -> str:
        """``<origin>+<hex key id>+<base64(0x01 ‖ public key)>``: what inspectors and witnesses are given."""
        return note.verifier_key(self.origin(), self.signing_key().public_key())

    def verifier_key_answer(self) -> VerifierKeyAnswer:
        return VerifierKeyAnswer(origin=self.origin(), verifier_key=self.verifier_key())

    # ── checkpoints ──────────────────────────────────────────────────────────

    def issue(self) -> str:
        """A signed checkpoint of the tree as it is now, stored unless the newest stored one is equal."""
        key = self.signing_key()
        origin = self.origin()
        size = self.proofs.tree_size()
        root = self.proofs.root(size)
        latest = self.latest()
        if latest is not None:
            old_size, old_root = latest.tree_size, bytes.fromhex(latest.root)
            if old_size > size:
                raise IntegrityFailure(
                    f"账本只有 {size} 条事件，而已签发的检查点 #{latest.id} 记录了 {old_size} 条：事件被删除，"
                    "拒绝签发。请运行 xinfang verify",
                    code="checkpoint_inconsistent",
                )
            if old_size == size and old_root == root:
                return latest.note
            if old_size > 0:
                try:
                    proof = self.proofs.consistency(old_size, size)
                    path = [bytes.fromhex(h) for h in proof.consistency_path]
                    merkle.verify_consistency(old_size, size, old_root, root, path)
                except (merkle.ProofError, IntegrityFailure) as exc:
                    raise IntegrityFailure(
                        f"当前的树不是已签发检查点 #{latest.id}（大小 {old_size}）的延续，拒绝签发：{exc}。"
                        "请运行 xinfang verify",
                        code="checkpoint_inconsistent",
                    ) from None
        body = note.format_checkpoint(note.Checkpoint(origin=origin, size=size, root=root))
        signed = note.sign_note(body, origin, key)
        self._store(size, root, signed)
        return signed

    def answer(self) -> CheckpointAnswer:
        """:meth:`issue`, with the origin, tree size and root read back from the signed note."""
        text = self.issue()
        body = note.open_checkpoint(text, self.verifier_key())
        return CheckpointAnswer(origin=body.origin, tree_size=body.size, root_hash=body.root.hex(), note=text)

    def _store(self, size: int, root: bytes, signed: str) -> None:
        now = datetime.now(timezone.utc)
        issued: Any = now if isinstance(self.tables, PostgresTables) else now.isoformat()
        with self.tables.writing() as q:
            q("INSERT INTO {checkpoints} (tree_size, root, note, issued_at) VALUES (?, ?, ?, ?)",
              (size, root, signed, issued))

    def _rows(self, clause: str) -> list[StoredCheckpoint]:
        with self.tables.snapshot() as q:
            rows = q(f"SELECT id, tree_size, root, note, issued_at FROM {{checkpoints}} {clause}", ())
        return [
            StoredCheckpoint(
                id=int(r[0]), tree_size=int(r[1]), root=bytes(r[2]).hex(), note=str(r[3]),
                issued_at=r[4].isoformat() if isinstance(r[4], datetime) else str(r[4]),
            )
            for r in rows
        ]

    def list(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, oldest first."""
        return self._rows("ORDER BY id")

    def latest(self) -> StoredCheckpoint | None:
        rows = self._rows("ORDER BY id DESC LIMIT 1")
        return rows[0] if rows else None
