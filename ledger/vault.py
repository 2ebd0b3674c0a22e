"""身份信息库：petitioner identities, encrypted per person so that erasure is key destruction.

Events carry only a petitioner reference; the identity (name, ID number, phone, address) is personal
information under 《个人信息保护法》 and lives here, in the same database as the ledger. Each person
gets a random AES-256 key; the identity is sealed with AES-GCM under that key with the reference as
associated data, so a ciphertext moved to another reference fails to open. Erasure (PIPL art 47)
sets the key to NULL and keeps the ciphertext: the erasure stays demonstrable, the data is
unreadable, and the ledger — which never held the identity — still replays and verifies.

Tables (created if missing)::

    vault_keys       (ref PRIMARY KEY, key 32 bytes or NULL, created_at, erased_at or NULL)
                     CHECK: key IS NULL exactly when erased_at IS NOT NULL
    vault_identities (ref PRIMARY KEY REFERENCES vault_keys, nonce 12 bytes, ciphertext)

The keys sit next to the ciphertexts: the vault makes erasure final, it does not protect a stolen
live database. What erasure cannot reach: database backups taken before it, and, on PostgreSQL, the
old row version until VACUUM reclaims it. On SQLite the connection runs with ``secure_delete`` and
a WAL file is truncated after an erasure, so the key's bytes leave the database files.

A :class:`Vault` holds one connection and serialises its calls with a lock; open one per process
or worker. Reads are not audited here: the caller records who read a confidential case.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, Literal

import msgspec
import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.config import is_postgres, scheme_of, sqlite_path
from ledger.errors import LedgerError
from schemas.identity import PetitionerIdentity, PetitionerRef

__all__ = [
    "IdentityErased",
    "InvalidIdentity",
    "InvalidReference",
    "UnknownPetitioner",
    "Vault",
    "VaultError",
    "VaultIntegrityError",
    "VaultUnavailable",
]

Status = Literal["present", "erased", "unknown"]

_KEY_BYTES = 32
_NONCE_BYTES = 12
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(PetitionerIdentity)


# ── errors ───────────────────────────────────────────────────────────────────


class VaultError(LedgerError):
    """身份信息库错误. ``str(error)`` is Chinese for people; ``code`` is stable English for machines."""

    code = "vault_error"

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class IdentityErased(VaultError):
    """The person's key was destroyed: the identity can neither be read nor written again."""

    code = "identity_erased"


class UnknownPetitioner(VaultError):
    """No identity is stored under this reference."""

    code = "unknown_petitioner"


class InvalidIdentity(VaultError):
    """The identity breaks the constraints of :class:`PetitionerIdentity`."""

    code = "invalid_identity"


class InvalidReference(VaultError):
    """The reference is not a petitioner reference (ASCII code, 1-64 characters)."""

    code = "invalid_reference"


class VaultIntegrityError(VaultError):
    """A ciphertext failed authentication: altered, or moved from another reference."""

    code = "vault_integrity"


class VaultUnavailable(VaultError):
    """The database URL is unsupported or the database cannot be opened."""

    code = "vault_unavailable"


# ── database access ──────────────────────────────────────────────────────────


_DDL = {
    "sqlite": (
        """CREATE TABLE IF NOT EXISTS vault_keys (
            ref TEXT PRIMARY KEY,
            key BLOB,
            created_at TEXT NOT NULL,
            erased_at TEXT,
            CHECK ((key IS NULL) = (erased_at IS NOT NULL)),
            CHECK (key IS NULL OR length(key) = 32))""",
        """CREATE TABLE IF NOT EXISTS vault_identities (
            ref TEXT PRIMARY KEY REFERENCES vault_keys (ref),
            nonce BLOB NOT NULL CHECK (length(nonce) = 12),
            ciphertext BLOB NOT NULL)""",
    ),
    "postgresql": (
        """CREATE TABLE IF NOT EXISTS vault_keys (
            ref TEXT PRIMARY KEY,
            key BYTEA,
            created_at TIMESTAMPTZ NOT NULL,
            erased_at TIMESTAMPTZ,
            CHECK ((key IS NULL) = (erased_at IS NOT NULL)),
            CHECK (key IS NULL OR length(key) = 32))""",
        """CREATE TABLE IF NOT EXISTS vault_identities (
            ref TEXT PRIMARY KEY REFERENCES vault_keys (ref),
            nonce BYTEA NOT NULL CHECK (length(nonce) = 12),
            ciphertext BYTEA NOT NULL)""",
    ),
}


class _Sqlite:
    dialect: ClassVar[str] = "sqlite"
    for_update: ClassVar[str] = ""  # BEGIN IMMEDIATE already holds the write lock

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode with explicit BEGIN IMMEDIATE: the write lock is taken before reading,
        # so a concurrent erase and put cannot interleave.
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA secure_delete = ON")  # zero freed space: erased keys leave the file

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def create_schema(self) -> None:
        with self.transaction():
            for statement in _DDL["sqlite"]:
                self.conn.execute(statement)

    def timestamp(self, moment: datetime) -> Any:
        return moment.isoformat()

    def after_erase(self) -> None:
        # A WAL file still holds the page with the key until it is checkpointed and truncated.
        # Best effort: a concurrent reader may keep the last frames until its read ends.
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def close(self) -> None:
        self.conn.close()


class _Postgres:
    dialect: ClassVar[str] = "postgresql"
    for_update: ClassVar[str] = " FOR UPDATE OF k"
    _SCHEMA_LOCK: ClassVar[int] = 0x78_69_6E_66_76_61_75  # "xinfvau": serialises concurrent CREATE TABLE

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def create_schema(self) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._SCHEMA_LOCK,))
            for statement in _DDL["postgresql"]:
                self.conn.execute(statement)  # type: ignore[arg-type]

    def timestamp(self, moment: datetime) -> Any:
        return moment

    def after_erase(self) -> None:
        pass  # the dead row version goes with VACUUM; see the module docstring

    def close(self) -> None:
        self.conn.close()


def _check_ref(ref: str) -> str:
    try:
        return msgspec.convert(ref, PetitionerRef)
    except msgspec.ValidationError:
        raise InvalidReference(
            f"信访人编号不合规：{ref!r:.80}（应为 1-64 位字母、数字、点、下划线或连字符）"
        ) from None


_BEIJING = timezone(timedelta(hours=8))


def _format_time(value: Any) -> str:
    """A stored timestamp (datetime on PostgreSQL, ISO text on SQLite) in Beijing time, for messages."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M（北京时间）")


# ── the vault ────────────────────────────────────────────────────────────────


class Vault:
    """身份信息库：put, read and erase petitioner identities by reference."""

    def __init__(self, url: str) -> None:
        path = sqlite_path(url)
        if (path is None or not path.name) and not is_postgres(url):
            raise VaultUnavailable(
                f"不支持的数据库地址（{scheme_of(url)}）：请使用 sqlite:///路径 或 postgresql://用户@主机:端口/库名"
            )
        dialect = "sqlite" if path is not None else "postgresql"
        try:
            self._db: _Sqlite | _Postgres = _Sqlite(str(path)) if path is not None else _Postgres(url)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise VaultUnavailable(f"无法打开身份信息库（{dialect}）：{exc}") from exc
        self._lock = threading.Lock()
        try:
            self._db.create_schema()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, url: str) -> Vault:
        """Open (and if needed create the tables of) the vault at a database URL."""
        return cls(url)

    def __repr__(self) -> str:
        return f"Vault({self._db.dialect})"  # never the URL: it may hold a password

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            self._db.close()

    def put(self, ref: str, identity: PetitionerIdentity) -> str:
        """写入身份信息: store or replace ``ref``'s identity; returns the SHA-256 of what was stored.

        The first write creates the person's key; a replacement is sealed again under the same key
        with a fresh nonce. An erased reference is refused (:class:`IdentityErased`): an erased
        person must not silently come back. The identity is validated here too, since constructing
        a Struct in code skips the constraints that decoding enforces.
        """
        ref = _check_ref(ref)
        if not isinstance(identity, PetitionerIdentity):
            raise TypeError(f"identity must be a PetitionerIdentity, not {type(identity).__name__}")
        plaintext = _ENCODER.encode(identity)
        try:
            _DECODER.decode(plaintext)
        except msgspec.ValidationError as exc:
            raise InvalidIdentity(f"身份信息不符合要求：{exc}", ref=ref) from None
        db = self._db
        with self._lock, db.transaction():
            db.execute(
                "INSERT INTO vault_keys (ref, key, created_at) VALUES (?, ?, ?) ON CONFLICT (ref) DO NOTHING",
                (ref, os.urandom(_KEY_BYTES), db.timestamp(datetime.now(UTC))),
            )
            key, erased_at = db.execute(
                "SELECT k.key, k.erased_at FROM vault_keys k WHERE k.ref = ?" + db.for_update, (ref,)
            ).fetchone()
            if key is None:
                raise IdentityErased(
                    f"信访人 {ref} 的身份信息已于 {_format_time(erased_at)} 销毁，不能再写入", ref=ref
                )
            nonce = os.urandom(_NONCE_BYTES)
            ciphertext = AESGCM(bytes(key)).encrypt(nonce, plaintext, ref.encode())
            db.execute(
                "INSERT INTO vault_identities (ref, nonce, ciphertext) VALUES (?, ?, ?) "
                "ON CONFLICT (ref) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
                (ref, nonce, ciphertext),
            )
        return hashlib.sha256(nonce + ciphertext).hexdigest()

    def get(self, ref: str) -> PetitionerIdentity | None:
        """读取身份信息: the identity, or None for an unknown reference.

        Raises :class:`IdentityErased` for an erased one (the caller must be able to tell "never
        known" from "destroyed"), :class:`VaultIntegrityError` if the ciphertext does not open.
        """
        ref = _check_ref(ref)
        with self._lock:
            row = self._db.execute(
                "SELECT k.key, k.erased_at, i.nonce, i.ciphertext FROM vault_keys k "
                "LEFT JOIN vault_identities i ON i.ref = k.ref WHERE k.ref = ?",
                (ref,),
            ).fetchone()
        if row is None:
            return None
        key, erased_at, nonce, ciphertext = row
        if key is None:
            raise IdentityErased(
                f"信访人 {ref} 的身份信息已于 {_format_time(erased_at)} 销毁，无法读取", ref=ref
            )
        if ciphertext is None:
            return None
        try:
            plaintext = AESGCM(bytes(key)).decrypt(bytes(nonce), bytes(ciphertext), ref.encode())
        except InvalidTag:
            raise VaultIntegrityError(
                f"信访人 {ref} 的身份信息密文校验失败：数据被改动或错配到了其他编号", ref=ref
            ) from None
        return _DECODER.decode(plaintext)

    def require(self, ref: str) -> PetitionerIdentity:
        """Like :meth:`get`, but an unknown reference raises :class:`UnknownPetitioner`."""
        identity = self.get(ref)
        if identity is None:
            raise UnknownPetitioner(f"没有编号为 {ref} 的信访人身份信息", ref=ref)
        return identity

    def erase(self, ref: str) -> bool:
        """销毁身份信息: destroy ``ref``'s key, keep its ciphertext as evidence of the erasure.

        Returns False if the reference is unknown or already erased. Irreversible: there is no
        copy of the key. Record the erasure in the ledger (``PetitionerIdentityErased``).
        """
        ref = _check_ref(ref)
        db = self._db
        with self._lock:
            with db.transaction():
                cursor = db.execute(
                    "UPDATE vault_keys SET key = NULL, erased_at = ? WHERE ref = ? AND erased_at IS NULL",
                    (db.timestamp(datetime.now(UTC)), ref),
                )
                erased = cursor.rowcount == 1
            if erased:
                db.after_erase()
        return erased

    def status(self, ref: str) -> Status:
        """``present``, ``erased`` or ``unknown`` — without decrypting anything."""
        ref = _check_ref(ref)
        with self._lock:
            row = self._db.execute(
                "SELECT k.key IS NULL, i.ref IS NOT NULL FROM vault_keys k "
                "LEFT JOIN vault_identities i ON i.ref = k.ref WHERE k.ref = ?",
                (ref,),
            ).fetchone()
        if row is None:
            return "unknown"
        if row[0]:
            return "erased"
        return "present" if row[1] else "unknown"
