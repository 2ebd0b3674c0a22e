"""身份信息库：petitioner identities, encrypted per person so that erasure is key destruction.

Events carry only a petitioner reference; the identity (name, ID number, phone, address) is personal
information under 《个人信息保护法》 and lives here, in the same database as the ledger.

**Keys.** Each person gets a random AES-256 key; the identity (msgpack) is sealed with AES-GCM under
that key with the reference as associated data, so a ciphertext moved to another reference fails to
open. The person's key is stored only *wrapped* by the master key (:mod:`ledger.vault_key`, kept
outside the database): ``wrapped = nonce(12) ‖ AES-256-GCM(master, nonce, key, "vault_keys:" + ref)``,
60 bytes. Reading the database alone discloses nothing; a wrong master key is refused on opening (a
check value in ``vault_meta``).

**Erasure** (PIPL art 47) sets the wrapped key to NULL and keeps the ciphertext: the erasure stays
demonstrable, the data is unreadable, and the ledger — which never held the identity — still replays
and verifies. It is *complete* only when no copy of the wrapped key can remain on the database's
own files; until then :meth:`Vault.finish` and every later vault operation try to complete it, and
the erasure is reported as pending:

* SQLite: the connection runs with ``secure_delete`` (freed cells and pages are zeroed), and the WAL
  is checkpointed and truncated (``wal_checkpoint(TRUNCATE)``), which a reader's snapshot taken
  before the erasure prevents: then it stays pending, waiting at most 0.1 s for the write lock.
* PostgreSQL: the old row version stays in the table until a VACUUM removes it, and its bytes stay
  in the page's free space until ``VACUUM FULL vault_keys`` rewrites the table. The vault runs both
  once no session of this database, prepared transaction, replication slot or standby's feedback
  holds a snapshot from before the erasure (``pg_stat_activity``), with a 0.1 s lock timeout. What
  the vault cannot reach: WAL segments (until recycled and overwritten; ``CHECKPOINT`` lets them be
  recycled), WAL archives, base backups and standbys (until rotated).

A surviving copy of a wrapped key is useless without the master key: an erased identity can be
recovered only by someone holding both a copy made before the erasure (a backup, a WAL segment, a
file copied while the erasure was pending) *and* the master key.

Tables (created if missing; a vault written before the master key existed — ``vault_keys.key``
holding the raw key — is migrated on the first open with a master key: every key is wrapped, the raw
keys are purged like erased ones)::

    vault_meta       (id = 1, master_check 32 bytes, erasure_mark, purged_mark)
                     erasure_mark > purged_mark while an erasure is pending; the marks are a counter
                     on SQLite, the erasing transaction's id on PostgreSQL
    vault_keys       (ref PRIMARY KEY, wrapped 60 bytes or NULL, created_at, erased_at or NULL)
                     CHECK: wrapped IS NULL exactly when erased_at IS NOT NULL
    vault_identities (ref PRIMARY KEY REFERENCES vault_keys, nonce 12 bytes, ciphertext)

A :class:`Vault` holds one connection and serialises its calls with a lock; open one per process
or worker. Reads are not audited here: the caller records who read a confidential case.
"""

from __future__ import annotations

import hashlib
import hmac
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

from ledger.config import create_database_file, is_postgres, scheme_of, sqlite_path
from ledger.errors import IntegrityFailure, LedgerError
from ledger.vault_key import MASTER_KEY_BYTES, MasterKeyError, load_master_key
from schemas.identity import PetitionerIdentity, PetitionerRef

__all__ = [
    "IdentityDamaged",
    "IdentityErased",
    "InvalidIdentity",
    "InvalidReference",
    "Residue",
    "UnknownPetitioner",
    "Vault",
    "VaultError",
    "VaultUnavailable",
]

Status = Literal["present", "erased", "unknown"]

_KEY_BYTES = 32
_NONCE_BYTES = 12
_WRAPPED_BYTES = _NONCE_BYTES + _KEY_BYTES + 16
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(PetitionerIdentity)
_MASTER_CHECK_LABEL = b"xinfang-ledger vault master key check"

_LOCK_TIMEOUT_MS = 30_000
"""How long a vault write waits for the database's write lock."""
_FINISH_WAIT_MS = 100
"""How long erasing or finishing may wait for a checkpoint or VACUUM FULL: never tens of seconds."""
_IDLE_WAIT_MS = 0
"""Other operations retry a pending erasure only when it needs no waiting."""


# ── errors ───────────────────────────────────────────────────────────────────


class VaultError(LedgerError):
    """身份信息库错误. ``str(error)`` is Chinese for people; ``code`` is stable English for machines."""

    code = "vault_error"

    def __init__(self, message: str, *, ref: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
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


class IdentityDamaged(VaultError, IntegrityFailure):
    """A wrapped key or a ciphertext failed authentication: altered, damaged, or moved from another reference."""

    code = "identity_damaged"


class VaultUnavailable(VaultError):
    """The database URL is unsupported or the database cannot be opened."""

    code = "vault_unavailable"


class Residue(msgspec.Struct, frozen=True):
    """Whether a copy of a destroyed key may still be on the database's own files, and what that means."""

    pending: bool
    """True while an erasure is not complete: the vault keeps trying; ``xinfang petitioner erase --finish``."""
    detail: str
    """Chinese: what remains where, and what finishes it."""


# ── database access ──────────────────────────────────────────────────────────


_KEYS_DDL = {
    "sqlite": """CREATE TABLE IF NOT EXISTS {table} (
            ref TEXT PRIMARY KEY,
            wrapped BLOB,
            created_at TEXT NOT NULL,
            erased_at TEXT,
            CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)),
            CHECK (wrapped IS NULL OR length(wrapped) = 60))""",
    "postgresql": """CREATE TABLE IF NOT EXISTS {table} (
            ref TEXT PRIMARY KEY,
            wrapped BYTEA,
            created_at TIMESTAMPTZ NOT NULL,
            erased_at TIMESTAMPTZ,
            CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)),
            CHECK (wrapped IS NULL OR length(wrapped) = 60))""",
}
_META_DDL = {
    "sqlite": """CREATE TABLE IF NOT EXISTS vault_meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            master_check BLOB NOT NULL CHECK (length(master_check) = 32),
            erasure_mark INTEGER NOT NULL DEFAULT 0,
            purged_mark INTEGER NOT NULL DEFAULT 0)""",
    "postgresql": """CREATE TABLE IF NOT EXISTS vault_meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            master_check BYTEA NOT NULL CHECK (length(master_check) = 32),
            erasure_mark BIGINT NOT NULL DEFAULT 0,
            purged_mark BIGINT NOT NULL DEFAULT 0)""",
}
_IDENTITIES_DDL = {
    "sqlite": """CREATE TABLE IF NOT EXISTS vault_identities (
            ref TEXT PRIMARY KEY REFERENCES vault_keys (ref),
            nonce BLOB NOT NULL CHECK (length(nonce) = 12),
            ciphertext BLOB NOT NULL)""",
    "postgresql": """CREATE TABLE IF NOT EXISTS vault_identities (
            ref TEXT PRIMARY KEY REFERENCES vault_keys (ref),
            nonce BYTEA NOT NULL CHECK (length(nonce) = 12),
            ciphertext BYTEA NOT NULL)""",
}

WrappedRow = tuple[str, bytes | None, Any, Any]
"""A migrated key row: (ref, wrapped key or None if erased, created_at, erased_at)."""

_BACKUPS = "销毁之前所做的数据库备份中仍有封装后的密钥，没有主密钥无法解开：主密钥切勿与数据库备份放在一起。"


class _Sqlite:
    dialect: ClassVar[str] = "sqlite"
    for_update: ClassVar[str] = ""  # BEGIN IMMEDIATE already holds the write lock
    greatest: ClassVar[str] = "max"
    next_mark: ClassVar[str] = "erasure_mark + 1"
    complete: ClassVar[str] = "数据库文件（含 -wal、-shm）中已没有已销毁密钥的任何副本。" + _BACKUPS
    pending: ClassVar[str] = (
        "密钥已从表中删除，但{reason}，密钥的副本暂留在数据库文件或其 -wal 中，销毁尚未完成。该读取或写入结束后，"
        "下一次使用身份信息库时自动完成；也可运行 xinfang petitioner erase --finish。"
    )

    def __init__(self, path: Path) -> None:
        create_database_file(path)
        # Autocommit mode with explicit BEGIN IMMEDIATE: the write lock is taken before reading,
        # so a concurrent erase and put cannot interleave.
        self.conn = sqlite3.connect(
            path, timeout=_LOCK_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self.conn.execute("PRAGMA foreign_keys = ON")
        # As the ledger's store does: a reader then never blocks an erasure's commit.
        self.conn.execute("PRAGMA journal_mode = WAL")
        # Zero freed cells and pages, so an erased key leaves the pages it was on.
        if self.conn.execute("PRAGMA secure_delete = ON").fetchone()[0] != 1:
            raise VaultUnavailable("此 SQLite 不支持 secure_delete，无法保证销毁的密钥离开数据库文件")

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

    @contextmanager
    def schema_transaction(self) -> Iterator[None]:
        # A migration rebuilds vault_keys, which vault_identities references; the pragma is a
        # no-op inside a transaction, so it is set around it.
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.transaction():
                yield
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")

    def columns(self, table: str) -> set[str]:
        return {name for (name,) in self.conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}

    def migrate(self, rows: list[WrappedRow]) -> None:
        """Rebuild vault_keys with wrapped keys; the dropped table's pages are zeroed (secure_delete)."""
        self.conn.execute(_KEYS_DDL["sqlite"].format(table="vault_keys_wrapped"))
        self.conn.executemany(
            "INSERT INTO vault_keys_wrapped (ref, wrapped, created_at, erased_at) VALUES (?, ?, ?, ?)", rows
        )
        self.conn.execute("DROP TABLE vault_keys")
        self.conn.execute("ALTER TABLE vault_keys_wrapped RENAME TO vault_keys")

    def timestamp(self, moment: datetime) -> Any:
        return moment.isoformat()

    def purge(self, mark: int, wait_ms: int) -> str | None:
        """Checkpoint and truncate the WAL; None when no page written before now is left anywhere."""
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            return None  # an in-memory database: no files
        self.conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
        try:
            busy, log, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {_LOCK_TIMEOUT_MS}")
        if busy == 0 and log == 0:
            return None
        return "有其他连接持有销毁之前的读快照或正在写入（例如正在生成的报表、校验或备份）"

    def close(self) -> None:
        self.conn.close()


_SNAPSHOT_HOLDERS = """
SELECT '会话（进程 ' || pid || '）', x::text FROM pg_stat_activity, LATERAL (VALUES (backend_xmin), (backend_xid)) AS t (x)
 WHERE pid <> pg_backend_pid() AND (datname = current_database() OR datname IS NULL) AND x IS NOT NULL
UNION ALL
SELECT '预备事务 ' || gid, transaction::text FROM pg_prepared_xacts WHERE database = current_database()
UNION ALL
SELECT '复制槽 ' || slot_name, xmin::text FROM pg_replication_slots
 WHERE xmin IS NOT NULL AND (database = current_database() OR database IS NULL)
"""
"""What keeps a plain VACUUM from removing a row version (32-bit ids): snapshots and transactions of
this database, replication feedback (walsenders have no database), prepared transactions, slots.
Autovacuum workers count too, although a vacuuming one would not: erring towards "pending"."""

_MAY_VACUUM = """
SELECT pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE')
  FROM pg_class c, pg_database d WHERE c.oid = 'vault_keys'::regclass AND d.datname = current_database()
"""
"""VACUUM skips, with a mere warning, a table its user does not own: ask first."""


def _full_xid(xid: int, next_xid: int) -> int:
    """A 32-bit transaction id seen before ``next_xid`` (64-bit), as a 64-bit id."""
    full = (next_xid & ~0xFFFF_FFFF) | xid
    return full - (1 << 32) if full > next_xid else full


class _Postgres:
    dialect: ClassVar[str] = "postgresql"
    for_update: ClassVar[str] = " FOR UPDATE OF k"
    greatest: ClassVar[str] = "greatest"
    next_mark: ClassVar[str] = "greatest(erasure_mark, pg_current_xact_id()::text::bigint)"
    complete: ClassVar[str] = (
        "vault_keys 表文件中已没有已销毁密钥的旧行版本。PostgreSQL 服务器上仍可能有封装后的密钥副本："
        "WAL 段在被回收并覆盖之前（数据库管理员运行 CHECKPOINT 可让旧段尽早回收）、WAL 归档和基础备份在轮换之前、"
        "备库上同样如此。" + _BACKUPS
    )
    pending: ClassVar[str] = (
        "密钥已从表中删除，但{reason}，vault_keys 表文件中仍有含密钥的旧行版本，销毁尚未完成。"
        "待其结束后，下一次使用身份信息库时自动完成（执行 VACUUM 与 VACUUM FULL vault_keys）；也可运行 xinfang petitioner erase --finish。"
    )
    _SCHEMA_LOCK: ClassVar[int] = 0x78_69_6E_66_76_61_75  # "xinfvau": serialises concurrent CREATE TABLE

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    @contextmanager
    def schema_transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._SCHEMA_LOCK,))
            yield

    def columns(self, table: str) -> set[str]:
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s",
            (table,),
        )
        return {name for (name,) in rows}

    def migrate(self, rows: list[WrappedRow]) -> None:
        """Replace the raw key column by the wrapped one; the old row versions go with VACUUM FULL."""
        self.conn.execute("ALTER TABLE vault_keys ADD COLUMN wrapped BYTEA")
        self.conn.execute("ALTER TABLE vault_keys DROP COLUMN key")  # and the CHECKs on it
        with self.conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE vault_keys SET wrapped = %s WHERE ref = %s",
                [(wrapped, ref) for ref, wrapped, _, _ in rows if wrapped is not None],
            )
        self.conn.execute(
            "ALTER TABLE vault_keys ADD CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)), "
            "ADD CHECK (wrapped IS NULL OR length(wrapped) = 60)"
        )

    def timestamp(self, moment: datetime) -> Any:
        return moment

    def purge(self, mark: int, wait_ms: int) -> str | None:
        """VACUUM, then VACUUM FULL, vault_keys once nothing can still see a row version from before ``mark``."""
        holders = self.conn.execute(_SNAPSHOT_HOLDERS).fetchall()
        next_xid = int(self.conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()[0])
        blocking = sorted({who for who, xid in holders if _full_xid(int(xid), next_xid) <= mark})
        if blocking:
            return f"{'、'.join(blocking)}持有销毁之前开始的事务或快照"
        if not self.conn.execute(_MAY_VACUUM).fetchone()[0]:
            return "当前数据库用户不是 vault_keys 表或数据库的所有者，无权执行 VACUUM FULL vault_keys（请所有者执行）"
        self.conn.execute(f"SET lock_timeout = {max(wait_ms, 1)}")
        try:
            # A plain VACUUM removes the old row versions (its horizon is this database's; FREEZE makes it
            # wait for a page another session has pinned instead of skipping it); their bytes stay in the
            # pages' free space until VACUUM FULL rewrites the table. VACUUM FULL alone would not do:
            # its own snapshot is as old as the oldest transaction of any database on the server.
            self.conn.execute("VACUUM (FREEZE, DISABLE_PAGE_SKIPPING) vault_keys")
            self.conn.execute("VACUUM FULL vault_keys")
        except psycopg.errors.LockNotAvailable:
            return "其他会话正在使用 vault_keys 表"
        finally:
            self.conn.execute("RESET lock_timeout")
        return None

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


def _damaged(ref: str, what: str) -> IdentityDamaged:
    return IdentityDamaged(
        f"信访人 {ref} 的{what}校验失败：数据被改动、损坏或错配到了其他编号，无法解密。请管理员从数据库备份恢复该信访人的记录",
        ref=ref,
    )


# ── the vault ────────────────────────────────────────────────────────────────


class Vault:
    """身份信息库：put, read and erase petitioner identities by reference."""

    migrated: int
    """How many keys stored before the master key existed this opening wrapped (0 once migrated)."""

    def __init__(self, url: str, *, master_key: bytes | None = None) -> None:
        """Open the vault at ``url`` with ``master_key``, by default the one configured for ``url``.

        Refuses (:class:`~ledger.vault_key.MasterKeyError`) before touching the database when the
        master key is missing, readable by others or malformed, and on opening when it is not the
        key the vault was sealed with.
        """
        path = sqlite_path(url)
        if (path is None or not path.name) and not is_postgres(url):
            raise VaultUnavailable(
                f"不支持的数据库地址（{scheme_of(url)}）：请使用 sqlite:///路径 或 postgresql://用户@主机:端口/库名"
            )
        master = load_master_key(url) if master_key is None else master_key
        if len(master) != MASTER_KEY_BYTES:
            raise ValueError(f"master_key must be {MASTER_KEY_BYTES} bytes")
        self._master = AESGCM(master)
        dialect = "sqlite" if path is not None else "postgresql"
        try:
            self._db: _Sqlite | _Postgres = _Sqlite(path) if path is not None else _Postgres(url)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise VaultUnavailable(f"无法打开身份信息库（{dialect}）：{exc}") from exc
        self._lock = threading.Lock()
        try:
            with self._using():
                self.migrated = self._open_schema(hmac.new(master, _MASTER_CHECK_LABEL, hashlib.sha256).digest())
                self._settle(_FINISH_WAIT_MS)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, url: str, *, master_key: bytes | None = None) -> Vault:
        """Open (and if needed create or migrate the tables of) the vault at a database URL."""
        return cls(url, master_key=master_key)

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

    @contextmanager
    def _using(self) -> Iterator[_Sqlite | _Postgres]:
        """The connection, one caller at a time; a locked or lost database is :class:`VaultUnavailable`."""
        with self._lock:
            try:
                yield self._db
            except (sqlite3.OperationalError, psycopg.OperationalError) as exc:
                raise VaultUnavailable(f"身份信息库暂不可用，请稍后重试：{exc}") from exc

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
        with self._using() as db:
            with db.transaction():
                db.execute(
                    "INSERT INTO vault_keys (ref, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT (ref) DO NOTHING",
                    (ref, self._wrap(ref, os.urandom(_KEY_BYTES)), db.timestamp(datetime.now(UTC))),
                )
                wrapped, erased_at = db.execute(
                    "SELECT k.wrapped, k.erased_at FROM vault_keys k WHERE k.ref = ?" + db.for_update, (ref,)
                ).fetchone()
                if wrapped is None:
                    raise IdentityErased(
                        f"信访人 {ref} 的身份信息已于 {_format_time(erased_at)} 销毁，不能再写入", ref=ref
                    )
                nonce = os.urandom(_NONCE_BYTES)
                ciphertext = AESGCM(self._unwrap(ref, bytes(wrapped))).encrypt(nonce, plaintext, ref.encode())
                db.execute(
                    "INSERT INTO vault_identities (ref, nonce, ciphertext) VALUES (?, ?, ?) "
                    "ON CONFLICT (ref) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
                    (ref, nonce, ciphertext),
                )
            self._settle(_IDLE_WAIT_MS)
        return hashlib.sha256(nonce + ciphertext).hexdigest()

    def get(self, ref: str) -> PetitionerIdentity | None:
        """读取身份信息: the identity, or None for an unknown reference.

        Raises :class:`IdentityErased` for an erased one (the caller must be able to tell "never
        known" from "destroyed"), :class:`IdentityDamaged` if the wrapped key or the ciphertext
        does not open.
        """
        ref = _check_ref(ref)
        with self._using() as db:
            row = db.execute(
                "SELECT k.wrapped, k.erased_at, i.nonce, i.ciphertext FROM vault_keys k "
                "LEFT JOIN vault_identities i ON i.ref = k.ref WHERE k.ref = ?",
                (ref,),
            ).fetchone()
            self._settle(_IDLE_WAIT_MS)
        if row is None:
            return None
        wrapped, erased_at, nonce, ciphertext = row
        if wrapped is None:
            raise IdentityErased(
                f"信访人 {ref} 的身份信息已于 {_format_time(erased_at)} 销毁，无法读取", ref=ref
            )
        if ciphertext is None:
            return None
        key = self._unwrap(ref, bytes(wrapped))
        try:
            plaintext = AESGCM(key).decrypt(bytes(nonce), bytes(ciphertext), ref.encode())
        except InvalidTag:
            raise _damaged(ref, "身份信息密文") from None
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
        copy of the key outside the database. Whether copies may remain on the database's own
        files is :meth:`finish`'s answer. Record the erasure in the ledger (``PetitionerIdentityErased``).
        """
        ref = _check_ref(ref)
        with self._using() as db:
            with db.transaction():
                cursor = db.execute(
                    "UPDATE vault_keys SET wrapped = NULL, erased_at = ? WHERE ref = ? AND erased_at IS NULL",
                    (db.timestamp(datetime.now(UTC)), ref),
                )
                erased = cursor.rowcount == 1
                if erased:
                    db.execute(f"UPDATE vault_meta SET erasure_mark = {db.next_mark} WHERE id = 1")
            self._settle(_FINISH_WAIT_MS)
        return erased

    def finish(self) -> Residue:
        """完成销毁: try now to remove every copy of destroyed keys from the database's own files.

        Waits at most a tenth of a second for other connections; says what remains.
        """
        with self._using():
            return self._settle(_FINISH_WAIT_MS)

    def status(self, ref: str) -> Status:
        """``present``, ``erased`` or ``unknown`` — without decrypting anything."""
        ref = _check_ref(ref)
        with self._using() as db:
            row = db.execute(
                "SELECT k.wrapped IS NULL, i.ref IS NOT NULL FROM vault_keys k "
                "LEFT JOIN vault_identities i ON i.ref = k.ref WHERE k.ref = ?",
                (ref,),
            ).fetchone()
            self._settle(_IDLE_WAIT_MS)
        if row is None:
            return "unknown"
        if row[0]:
            return "erased"
        return "present" if row[1] else "unknown"

    # ── inside ───────────────────────────────────────────────────────────────

    def _wrap(self, ref: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, b"vault_keys:" + ref.encode())

    def _unwrap(self, ref: str, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], b"vault_keys:" + ref.encode())
        except InvalidTag:
            raise _damaged(ref, "身份密钥") from None

    def _open_schema(self, master_check: bytes) -> int:
        """Create the tables, check the master key, migrate unwrapped keys; how many were wrapped."""
        db = self._db
        with db.schema_transaction():
            unwrapped = "key" in db.columns("vault_keys")
            db.execute(_META_DDL[db.dialect])
            db.execute(
                "INSERT INTO vault_meta (id, master_check) VALUES (1, ?) ON CONFLICT (id) DO NOTHING", (master_check,)
            )
            (stored,) = db.execute("SELECT master_check FROM vault_meta WHERE id = 1").fetchone()
            if not hmac.compare_digest(bytes(stored), master_check):
                raise MasterKeyError(
                    "身份信息库主密钥与本账本不符：已存的身份密钥是用另一把主密钥封装的。请找回原来的主密钥文件"
                    "（或 XINFANG_VAULT_KEY 的值）；不要新建主密钥覆盖它",
                    code="vault_key_mismatch",
                )
            migrated = self._migrate() if unwrapped else 0
            db.execute(_KEYS_DDL[db.dialect].format(table="vault_keys"))
            db.execute(_IDENTITIES_DDL[db.dialect])
        return migrated

    def _migrate(self) -> int:
        """Wrap the raw keys of a vault written before the master key; they are then purged like erased ones."""
        db = self._db
        rows = db.execute("SELECT ref, key, created_at, erased_at FROM vault_keys").fetchall()
        db.migrate([
            (ref, None if key is None else self._wrap(ref, bytes(key)), created_at, erased_at)
            for ref, key, created_at, erased_at in rows
        ])
        db.execute(f"UPDATE vault_meta SET erasure_mark = {db.next_mark} WHERE id = 1")
        return sum(1 for row in rows if row[1] is not None)

    def _settle(self, wait_ms: int) -> Residue:
        """Complete pending erasures if the database lets us within ``wait_ms``; say what remains."""
        db = self._db
        erasure_mark, purged_mark = db.execute(
            "SELECT erasure_mark, purged_mark FROM vault_meta WHERE id = 1"
        ).fetchone()
        if erasure_mark > purged_mark:
            reason = db.purge(erasure_mark, wait_ms)
            if reason is not None:
                return Residue(pending=True, detail=db.pending.format(reason=reason))
            db.execute(
                f"UPDATE vault_meta SET purged_mark = {db.greatest}(purged_mark, ?) WHERE id = 1", (erasure_mark,)
            )
        return Residue(pending=False, detail=db.complete)
