"""Identity vault on real databases: a SQLite file and a throw-away PostgreSQL database.

Key formats are checked against the module's documentation by decrypting here, independently:
``wrapped = nonce(12) ‖ AES-256-GCM(master, nonce, key, "vault_keys:" + ref)`` and the identity
``AES-256-GCM(key, nonce, msgpack(identity), ref)``.
"""

from __future__ import annotations

import base64
import grp
import os
import pwd
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.application import Ledger
from ledger.errors import ConfigError, IntegrityFailure
from ledger.tokens import TokenStore
from ledger.vault import (
    IdentityDamaged,
    IdentityErased,
    InvalidIdentity,
    InvalidReference,
    UnknownPetitioner,
    Vault,
    VaultError,
    VaultUnavailable,
)
from ledger.vault_key import MasterKeyError, create_master_key, master_key_path
from schemas.common import Actor
from schemas.identity import PetitionerIdentity
from support.outside import database_bytes, sql
from support.postgres import postgres_database

PETITIONER = PetitionerIdentity(
    name="信访人甲",
    id_number="43122819800101123X",
    phone="+86-138-0013-8000",
    address="示范县甲镇一村1组1号",
)
MASTER = bytes(range(32))
"""The test's master key; the vault never stores it."""


def unwrap(wrapped: bytes, ref: str, master: bytes = MASTER) -> bytes:
    return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], b"vault_keys:" + ref.encode())


@dataclass
class Database:
    """A database under test: the URL the vault opens, direct SQL on it, and the bytes of its storage."""

    url: str
    query: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
    storage: Callable[[], bytes]
    """SQLite: the database file with its -wal, -shm, -journal. PostgreSQL: the raw pages of vault_keys."""
    hold: Callable[[], Any]
    """Open a read transaction whose snapshot predates what follows (a long report, a backup: it reads
    other tables); returns ``(release, pid)``."""


@pytest.fixture(scope="session")
def postgres_url(postgres_admin: str) -> Iterator[str]:
    with postgres_database(postgres_admin, "xinfang_vault_test") as url:
        yield url


def _query(url: str) -> Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]:
    return lambda statement, params=(): sql(url, statement, *params)


def _sqlite_database(path: Path) -> Database:
    def storage() -> bytes:
        return database_bytes(path)

    def hold() -> tuple[Callable[[], None], None]:
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def release() -> None:
            reader.execute("COMMIT")
            reader.close()

        return release, None

    return Database(f"sqlite:///{path}", _query(f"sqlite:///{path}"), storage, hold)


def _postgres_database(url: str) -> Database:
    def storage() -> bytes:
        with psycopg.connect(url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pageinspect'").fetchone():
                pytest.skip("PostgreSQL 未安装 pageinspect，无法检查表的原始页面")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
            pages = conn.execute(
                "SELECT get_raw_page('vault_keys', n) FROM "
                "generate_series(0, (pg_relation_size('vault_keys') / 8192)::int - 1) AS n"
            ).fetchall()
        return b"".join(bytes(page) for (page,) in pages)

    def hold() -> tuple[Callable[[], None], int]:
        reader = psycopg.connect(url)
        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        reader.execute("SELECT count(*) FROM pg_class").fetchone()

        def release() -> None:
            reader.commit()
            reader.close()

        return release, reader.info.backend_pid

    return Database(url, _query(url), storage, hold)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """Shared by the tests of one session on PostgreSQL (each uses its own references)."""
    if request.param == "sqlite":
        return _sqlite_database(tmp_path / "ledger.sqlite3")
    return _postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def fresh(database_url: str) -> Database:
    """An empty database of its own, for tests that need nothing else on it."""
    if database_url.startswith("sqlite:///"):
        return _sqlite_database(Path(database_url[len("sqlite:///"):]))
    return _postgres_database(database_url)


@pytest.fixture
def vault(database: Database) -> Iterator[Vault]:
    with Vault.open(database.url, master_key=MASTER) as v:
        yield v


@pytest.fixture
def ref() -> str:
    return f"P-2021-{secrets.token_hex(4)}"


def raw_key(database: Database, ref: str) -> tuple[Any, Any]:
    [(wrapped, erased_at)] = database.query("SELECT wrapped, erased_at FROM vault_keys WHERE ref = ?", (ref,))
    return (bytes(wrapped) if wrapped is not None else None), erased_at


def raw_identity(database: Database, ref: str) -> tuple[bytes, bytes]:
    [(nonce, ciphertext)] = database.query(
        "SELECT nonce, ciphertext FROM vault_identities WHERE ref = ?", (ref,)
    )
    return bytes(nonce), bytes(ciphertext)


def vault_tables(database: Database) -> set[str]:
    if database.url.startswith("sqlite:///"):
        rows = database.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?", ("vault%",))
    else:
        rows = database.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE ?", ("vault%",))
    return {name for (name,) in rows}


# ── round trip ───────────────────────────────────────────────────────────────


def test_put_get_round_trip(vault: Vault, database: Database, ref: str) -> None:
    assert vault.status(ref) == "unknown"
    vault.put(ref, PETITIONER)
    assert vault.get(ref) == PETITIONER
    assert vault.status(ref) == "present"

    wrapped, erased_at = raw_key(database, ref)
    nonce, _ = raw_identity(database, ref)
    assert len(wrapped) == 60 and erased_at is None and len(nonce) == 12

    # Replacing keeps the person's key and re-seals with a fresh nonce.
    moved = msgspec.structs.replace(PETITIONER, address="湖南省怀化市鹤城区迎丰西路8号", phone="")
    vault.put(ref, moved)
    assert vault.get(ref) == moved
    assert raw_key(database, ref)[0] == wrapped
    assert raw_identity(database, ref)[0] != nonce


def test_the_stored_key_is_wrapped_by_the_master_key(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    wrapped, _ = raw_key(database, ref)
    nonce, ciphertext = raw_identity(database, ref)
    key = unwrap(wrapped, ref)
    assert len(key) == 32 and key not in database.storage()
    assert msgspec.msgpack.decode(AESGCM(key).decrypt(nonce, ciphertext, ref.encode())) == {
        "name": PETITIONER.name, "id_number": PETITIONER.id_number, "phone": PETITIONER.phone,
        "address": PETITIONER.address}
    with pytest.raises(InvalidTag):  # another master key opens nothing
        unwrap(wrapped, ref, master=bytes(32))
    with pytest.raises(InvalidTag):  # and the wrapping is bound to the reference
        unwrap(wrapped, f"{ref}-b")


def test_minimal_identity(vault: Vault, ref: str) -> None:
    vault.put(ref, PetitionerIdentity(name="买买提·艾力"))
    assert vault.get(ref) == PetitionerIdentity(name="买买提·艾力", id_number="", phone="", address="")


def test_reopen_reads_back(database: Database, ref: str) -> None:
    with Vault.open(database.url, master_key=MASTER) as first:
        first.put(ref, PETITIONER)
    with Vault.open(database.url, master_key=MASTER) as second:  # tables already exist
        assert second.get(ref) == PETITIONER
        assert second.migrated == 0


def test_ciphertext_reveals_nothing(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    wrapped, _ = raw_key(database, ref)
    _, ciphertext = raw_identity(database, ref)
    for secret in (PETITIONER.name, PETITIONER.id_number, PETITIONER.phone, PETITIONER.address, "芷江", "1980"):
        assert secret.encode() not in ciphertext
    # Each person has their own key.
    other = f"{ref}-b"
    vault.put(other, PETITIONER)
    assert unwrap(raw_key(database, other)[0], other) != unwrap(wrapped, ref)
    assert raw_identity(database, other)[1] != ciphertext


def test_ciphertext_bound_to_its_reference(vault: Vault, database: Database, ref: str) -> None:
    other = f"{ref}-b"
    vault.put(ref, PETITIONER)
    vault.put(other, PetitionerIdentity(name="信访人丙"))
    # Move `ref`'s ciphertext under `other`: `other`'s key cannot open it.
    nonce, ciphertext = raw_identity(database, ref)
    database.query(
        "UPDATE vault_identities SET nonce = ?, ciphertext = ? WHERE ref = ?", (nonce, ciphertext, other)
    )
    with pytest.raises(IdentityDamaged) as caught:
        vault.get(other)
    assert caught.value.code == "identity_damaged"
    # Copying the wrapped key as well still fails: the reference is authenticated in both layers.
    wrapped, _ = raw_key(database, ref)
    database.query("UPDATE vault_keys SET wrapped = ? WHERE ref = ?", (wrapped, other))
    with pytest.raises(IdentityDamaged):
        vault.get(other)


# ── damaged ciphertext or key ────────────────────────────────────────────────


def _flip_last_byte(value: bytes) -> bytes:
    return value[:-1] + bytes([value[-1] ^ 0x01])


def test_a_damaged_ciphertext_is_a_clear_error(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    _, ciphertext = raw_identity(database, ref)
    database.query("UPDATE vault_identities SET ciphertext = ? WHERE ref = ?", (_flip_last_byte(ciphertext), ref))
    with pytest.raises(IdentityDamaged) as caught:
        vault.get(ref)
    assert caught.value.code == "identity_damaged" and caught.value.ref == ref
    assert isinstance(caught.value, IntegrityFailure)  # the CLI's exit code 1
    assert f"信访人 {ref} 的身份信息密文校验失败" in str(caught.value) and "备份恢复" in str(caught.value)
    assert vault.status(ref) == "present"  # nothing was changed by reading


def test_a_damaged_wrapped_key_is_a_clear_error(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    wrapped, _ = raw_key(database, ref)
    _, ciphertext = raw_identity(database, ref)
    database.query("UPDATE vault_keys SET wrapped = ? WHERE ref = ?", (_flip_last_byte(wrapped), ref))
    with pytest.raises(IdentityDamaged, match=f"信访人 {ref} 的身份密钥校验失败") as caught:
        vault.get(ref)
    assert caught.value.code == "identity_damaged"
    with pytest.raises(IdentityDamaged):  # nor is it re-sealed under a key that does not open
        vault.put(ref, PetitionerIdentity(name="信访人乙"))
    assert raw_identity(database, ref)[1] == ciphertext


# ── the master key ───────────────────────────────────────────────────────────


@pytest.fixture
def key_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys in ``tmp_path``: the signing key's variable set, the master key's variables unset."""
    monkeypatch.setenv("XINFANG_KEY_FILE", str(tmp_path / "keys" / "ledger.key"))
    monkeypatch.delenv("XINFANG_VAULT_KEY", raising=False)
    monkeypatch.delenv("XINFANG_VAULT_KEY_FILE", raising=False)
    return tmp_path / "keys" / "ledger.vault.key"


def test_without_the_master_key_the_vault_refuses_and_touches_nothing(fresh: Database, key_env: Path) -> None:
    with pytest.raises(MasterKeyError) as caught:
        Vault.open(fresh.url)
    assert caught.value.code == "vault_key_missing" and isinstance(caught.value, ConfigError)
    assert f"找不到身份信息库主密钥 {key_env}" in str(caught.value) and "xinfang init" in str(caught.value)
    if fresh.url.startswith("sqlite:///"):
        assert not Path(fresh.url[len("sqlite:///"):]).exists()
    else:
        assert vault_tables(fresh) == set()


def test_the_master_key_file_is_private_and_opens_the_vault(fresh: Database, key_env: Path, ref: str) -> None:
    assert create_master_key(fresh.url) == (key_env, True)
    assert (key_env.stat().st_mode & 0o777) == 0o600
    assert len(base64.b64decode(key_env.read_text(encoding="ascii").strip(), validate=True)) == 32
    assert create_master_key(fresh.url) == (key_env, False)  # never replaced
    with Vault.open(fresh.url) as vault:
        vault.put(ref, PETITIONER)
    with Vault.open(fresh.url) as vault:
        assert vault.get(ref) == PETITIONER


def test_the_default_master_key_lies_beside_the_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XINFANG_KEY_FILE", "XINFANG_VAULT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert master_key_path("sqlite:///var/xinfang.sqlite3") == Path("var/xinfang.vault.key")
    assert master_key_path("sqlite:////srv/county/ledger.sqlite3") == Path("/srv/county/ledger.vault.key")
    assert master_key_path("postgresql://postgres@127.0.0.1/xinfang") == Path("var/xinfang.vault.key")
    monkeypatch.setenv("XINFANG_VAULT_KEY_FILE", "/etc/xinfang/vault.key")
    assert master_key_path("sqlite:///var/xinfang.sqlite3") == Path("/etc/xinfang/vault.key")


def test_a_master_key_from_the_environment(fresh: Database, key_env: Path, monkeypatch: pytest.MonkeyPatch,
                                           ref: str) -> None:
    monkeypatch.setenv("XINFANG_VAULT_KEY", base64.b64encode(MASTER).decode())
    assert create_master_key(fresh.url) == (None, False) and not key_env.exists()
    with Vault.open(fresh.url) as vault:
        vault.put(ref, PETITIONER)
    with Vault.open(fresh.url, master_key=MASTER) as vault:  # the same key, given directly
        assert vault.get(ref) == PETITIONER


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(bytes(16)).decode(), "", "  "])
def test_a_malformed_master_key_is_refused(tmp_path: Path, key_env: Path, monkeypatch: pytest.MonkeyPatch,
                                           value: str) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    key_env.parent.mkdir()
    key_env.write_text(value, encoding="ascii")
    key_env.chmod(0o600)
    with pytest.raises(MasterKeyError, match="不是有效的身份信息库主密钥") as caught:
        Vault.open(url)
    assert caught.value.code == "vault_key_invalid"
    if value.strip():
        monkeypatch.setenv("XINFANG_VAULT_KEY", value)
        with pytest.raises(MasterKeyError, match="环境变量 XINFANG_VAULT_KEY 不是有效的"):
            Vault.open(url)
    assert not (tmp_path / "ledger.sqlite3").exists()


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o606, 0o660, 0o620, 0o664])
def test_a_master_key_others_can_read_or_change_is_refused(tmp_path: Path, key_env: Path, mode: int) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    create_master_key(url)
    key_env.chmod(mode)
    with pytest.raises(MasterKeyError, match=f"chmod 600 {key_env}") as caught:
        Vault.open(url)
    assert caught.value.code == "vault_key_permissions" and f"{mode:04o}" in str(caught.value)
    assert not (tmp_path / "ledger.sqlite3").exists()


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_master_key_only_its_owner_reads_is_accepted(tmp_path: Path, key_env: Path, mode: int) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    create_master_key(url)
    key_env.chmod(mode)
    Vault.open(url).close()


def _own_private_group() -> bool:
    user, group = pwd.getpwuid(os.getuid()), grp.getgrgid(os.getgid())
    return user.pw_gid == group.gr_gid and group.gr_name == user.pw_name and not group.gr_mem


@pytest.mark.parametrize("mode", [0o640, 0o440])
def test_a_master_key_readable_by_the_owners_private_group_is_accepted(tmp_path: Path, key_env: Path,
                                                                       mode: int) -> None:
    if not _own_private_group():
        pytest.skip("运行测试的用户没有独用的组")
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    create_master_key(url)
    os.chown(key_env, -1, os.getgid())
    key_env.chmod(mode)
    Vault.open(url).close()


def test_a_master_key_readable_by_a_shared_group_is_refused(tmp_path: Path, key_env: Path) -> None:
    shared = [g for g in grp.getgrall() if g.gr_gid != os.getgid()]
    if os.geteuid() != 0 or not shared:
        pytest.skip("需要 root 才能把文件交给另一个组")
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    create_master_key(url)
    os.chown(key_env, -1, shared[0].gr_gid)
    key_env.chmod(0o440)
    with pytest.raises(MasterKeyError, match="所属组不是文件所有者独用的组") as caught:
        Vault.open(url)
    assert caught.value.code == "vault_key_permissions"


def test_another_master_key_is_refused_and_changes_nothing(database: Database, ref: str) -> None:
    with Vault.open(database.url, master_key=MASTER) as vault:
        vault.put(ref, PETITIONER)
    with pytest.raises(MasterKeyError, match="主密钥与本账本不符") as caught:
        Vault.open(database.url, master_key=bytes(32))
    assert caught.value.code == "vault_key_mismatch"
    with Vault.open(database.url, master_key=MASTER) as vault:
        assert vault.get(ref) == PETITIONER


# ── database files ───────────────────────────────────────────────────────────


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("first", ["ledger", "vault", "tokens"])
def test_database_files_are_made_private_whatever_the_umask(tmp_path: Path, first: str) -> None:
    path = tmp_path / "var" / "ledger.sqlite3"
    url = f"sqlite:///{path}"
    openers: dict[str, Callable[[], Any]] = {
        "ledger": lambda: Ledger(url),
        "vault": lambda: Vault.open(url, master_key=MASTER),
        "tokens": lambda: TokenStore(url),
    }
    opened: dict[str, Any] = {}
    with _umask(0):
        try:
            opened[first] = openers[first]()
            assert (path.stat().st_mode & 0o777) == 0o600  # whoever makes the file makes it private
            for name in openers.keys() - {first}:
                opened[name] = openers[name]()
            opened["vault"].put("P-0001", PETITIONER)
            opened["tokens"].create(Actor(id="admin-1", unit="county", role="admin"))
            files = {f.name: f.stat().st_mode & 0o777 for f in path.parent.iterdir()}
        finally:
            for item in opened.values():
                item.close()
    assert files == {"ledger.sqlite3": 0o600, "ledger.sqlite3-wal": 0o600, "ledger.sqlite3-shm": 0o600}


# ── erasure ──────────────────────────────────────────────────────────────────


def test_erase(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    _, ciphertext = raw_identity(database, ref)

    assert vault.erase(ref) is True
    with pytest.raises(IdentityErased) as caught:
        vault.get(ref)
    assert caught.value.code == "identity_erased"
    assert isinstance(caught.value, VaultError)
    assert "已于" in str(caught.value) and "销毁" in str(caught.value)
    assert vault.status(ref) == "erased"

    wrapped, erased_at = raw_key(database, ref)
    assert wrapped is None and erased_at is not None
    assert raw_identity(database, ref)[1] == ciphertext  # kept: the erasure is demonstrable


def test_erase_twice_and_unknown(vault: Vault, ref: str) -> None:
    vault.put(ref, PETITIONER)
    assert vault.erase(ref) is True
    assert vault.erase(ref) is False
    assert vault.erase(f"{ref}-never") is False


def test_put_after_erase_refused(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    vault.erase(ref)
    _, ciphertext = raw_identity(database, ref)
    with pytest.raises(IdentityErased, match="不能再写入") as caught:
        vault.put(ref, PetitionerIdentity(name="信访人甲"))
    assert caught.value.code == "identity_erased"
    assert raw_key(database, ref)[0] is None
    assert raw_identity(database, ref)[1] == ciphertext
    assert vault.status(ref) == "erased"


def _fill(vault: Vault, database: Database, count: int) -> list[str]:
    """Enough identities to span several pages, some written twice.

    On PostgreSQL autovacuum is switched off for the vault's tables, so that a worker's lock or
    snapshot cannot make the outcome of the vault's VACUUM depend on timing.
    """
    if not database.url.startswith("sqlite:///"):
        for table in ("vault_meta", "vault_keys", "vault_identities"):
            database.query(f"ALTER TABLE {table} SET (autovacuum_enabled = false)", ())
    refs = [f"P-2021-{i:06d}" for i in range(count)]
    for i, ref in enumerate(refs):
        vault.put(ref, PETITIONER)
        if i % 3 == 0:
            vault.put(ref, msgspec.structs.replace(PETITIONER, phone=f"1380000{i:04d}"))
    return refs


def test_an_erasure_with_no_reader_is_complete_at_once(fresh: Database) -> None:
    with Vault.open(fresh.url, master_key=MASTER) as vault:
        refs = _fill(vault, fresh, 120)
        wrapped, _ = raw_key(fresh, refs[60])
        assert wrapped in fresh.storage()  # the scan sees a stored key
        assert vault.erase(refs[60]) is True
        residue = vault.finish()
        assert residue.pending is False
        assert "已没有已销毁密钥" in residue.detail and "备份" in residue.detail
        storage = fresh.storage()
        assert wrapped not in storage and unwrap(wrapped, refs[60]) not in storage
        assert raw_key(fresh, refs[59])[0] in storage and vault.get(refs[61]) == PETITIONER


def test_an_erasure_under_a_held_snapshot_is_pending_until_no_copy_remains(fresh: Database) -> None:
    with Vault.open(fresh.url, master_key=MASTER) as vault:
        refs = _fill(vault, fresh, 120)
        target, other = refs[60], refs[61]
        wrapped, _ = raw_key(fresh, target)
        key = unwrap(wrapped, target)
        release, reader = fresh.hold()
        try:
            assert vault.erase(target) is True  # the key is gone from the table at once...
            assert vault.status(target) == "erased"
            residue = vault.finish()
            # ...but not claimed complete while the snapshot keeps a copy on the files:
            assert residue.pending is True and "销毁尚未完成" in residue.detail
            assert "--finish" in residue.detail
            if reader is not None:  # PostgreSQL names the session
                assert f"进程 {reader}" in residue.detail
                fresh.query("VACUUM FULL vault_keys", ())  # even a rewrite must keep the row the snapshot sees
            else:
                assert "读快照" in residue.detail
            assert wrapped in fresh.storage()
            assert vault.get(other) == PETITIONER  # the vault keeps working meanwhile
            assert vault.finish().pending is True
        finally:
            release()
        assert vault.status(other) == "present"  # the next operation completes the erasure by itself
        storage = fresh.storage()
        assert wrapped not in storage and key not in storage
        residue = vault.finish()
        assert residue.pending is False and "已没有已销毁密钥" in residue.detail
        with pytest.raises(IdentityErased):
            vault.get(target)


def test_a_pending_erasure_is_finished_by_another_process(fresh: Database) -> None:
    with Vault.open(fresh.url, master_key=MASTER) as vault:
        refs = _fill(vault, fresh, 30)
        wrapped, _ = raw_key(fresh, refs[7])
        release, _ = fresh.hold()
        try:
            vault.erase(refs[7])
            assert vault.finish().pending is True
        finally:
            release()
    # The vault that erased is closed; a later one (a new CLI run, another worker) finishes the job.
    with Vault.open(fresh.url, master_key=MASTER) as later:
        assert wrapped not in fresh.storage()
        assert later.finish().pending is False


@pytest.mark.postgres
def test_a_transaction_in_another_database_does_not_keep_the_key(postgres_admin: str) -> None:
    # Regression: VACUUM FULL alone keeps a row version that a transaction of *any* database on the
    # server began before; the vault's plain VACUUM first removes it by this database's horizon.
    with postgres_database(postgres_admin) as url:
        fresh = _postgres_database(url)
        with Vault.open(url, master_key=MASTER) as vault:
            refs = _fill(vault, fresh, 30)
            wrapped, _ = raw_key(fresh, refs[7])
            with psycopg.connect(postgres_admin) as elsewhere:
                elsewhere.execute("SELECT pg_current_xact_id()")  # a writer in the server's other database
                vault.erase(refs[7])
                assert vault.finish().pending is False
                assert wrapped not in fresh.storage()
                elsewhere.rollback()


# ── migrating a vault written before the master key ──────────────────────────


_UNWRAPPED_DDL = {
    "sqlite": (
        """CREATE TABLE vault_keys (ref TEXT PRIMARY KEY, key BLOB, created_at TEXT NOT NULL, erased_at TEXT,
            CHECK ((key IS NULL) = (erased_at IS NOT NULL)), CHECK (key IS NULL OR length(key) = 32))""",
        """CREATE TABLE vault_identities (ref TEXT PRIMARY KEY REFERENCES vault_keys (ref),
            nonce BLOB NOT NULL CHECK (length(nonce) = 12), ciphertext BLOB NOT NULL)""",
    ),
    "postgresql": (
        """CREATE TABLE vault_keys (ref TEXT PRIMARY KEY, key BYTEA, created_at TIMESTAMPTZ NOT NULL,
            erased_at TIMESTAMPTZ, CHECK ((key IS NULL) = (erased_at IS NOT NULL)),
            CHECK (key IS NULL OR length(key) = 32))""",
        """CREATE TABLE vault_identities (ref TEXT PRIMARY KEY REFERENCES vault_keys (ref),
            nonce BYTEA NOT NULL CHECK (length(nonce) = 12), ciphertext BYTEA NOT NULL)""",
    ),
}
"""The layout of the vault before the master key: the person's key stored as it is."""


def _unwrapped_vault(database: Database) -> dict[str, bytes]:
    """Three people stored the old way, the third erased; their raw keys."""
    dialect = "sqlite" if database.url.startswith("sqlite:///") else "postgresql"
    for statement in _UNWRAPPED_DDL[dialect]:
        database.query(statement, ())
    keys = {}
    for ref, name in (("P-0001", "信访人甲"), ("P-0002", "信访人乙"), ("P-0003", "信访人丙")):
        keys[ref] = key = os.urandom(32)
        nonce = os.urandom(12)
        plaintext = msgspec.msgpack.encode({"name": name, "id_number": "", "phone": "", "address": ""})
        database.query("INSERT INTO vault_keys (ref, key, created_at) VALUES (?, ?, ?)",
                       (ref, key, "2021-03-01T09:30:00+08:00"))
        database.query("INSERT INTO vault_identities VALUES (?, ?, ?)",
                       (ref, nonce, AESGCM(key).encrypt(nonce, plaintext, ref.encode())))
    database.query("UPDATE vault_keys SET key = NULL, erased_at = ? WHERE ref = 'P-0003'",
                   ("2021-06-01T10:00:00+08:00",))
    return keys


def _columns(database: Database) -> set[str]:
    if database.url.startswith("sqlite:///"):
        return {row[1] for row in database.query("PRAGMA table_info(vault_keys)", ())}
    return {name for (name,) in database.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'vault_keys'", ())}


def test_keys_stored_before_the_master_key_are_wrapped_on_first_open(fresh: Database) -> None:
    keys = _unwrapped_vault(fresh)
    assert keys["P-0001"] in fresh.storage()  # the old layout holds raw keys
    with Vault.open(fresh.url, master_key=MASTER) as vault:
        assert vault.migrated == 2
        assert vault.get("P-0001") == PetitionerIdentity(name="信访人甲")
        assert vault.get("P-0002") == PetitionerIdentity(name="信访人乙")
        assert vault.status("P-0003") == "erased"
        assert vault.finish().pending is False
    assert "key" not in _columns(fresh) and "wrapped" in _columns(fresh)
    assert unwrap(raw_key(fresh, "P-0001")[0], "P-0001") == keys["P-0001"]
    storage = fresh.storage()
    assert all(key not in storage for key in keys.values())  # the raw keys left the files with the old rows
    with Vault.open(fresh.url, master_key=MASTER) as again:
        assert again.migrated == 0 and again.get("P-0002") == PetitionerIdentity(name="信访人乙")
        with pytest.raises(IdentityErased):
            again.get("P-0003")


def test_an_unmigrated_vault_without_a_master_key_is_left_as_it_is(fresh: Database, key_env: Path) -> None:
    _unwrapped_vault(fresh)
    with pytest.raises(MasterKeyError, match="此前存入的身份信息会在首次打开时用它重新封装"):
        Vault.open(fresh.url)
    assert "key" in _columns(fresh) and vault_tables(fresh) == {"vault_keys", "vault_identities"}


# ── unknown and invalid input ────────────────────────────────────────────────


def test_unknown_ref(vault: Vault, ref: str) -> None:
    assert vault.get(ref) is None
    assert vault.status(ref) == "unknown"
    with pytest.raises(UnknownPetitioner) as caught:
        vault.require(ref)
    assert caught.value.code == "unknown_petitioner"
    assert ref in str(caught.value)


def test_invalid_identity_refused_by_decode() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.id_number"):
        msgspec.json.decode('{"name": "信访人乙", "id_number": "4312281980010112"}', type=PetitionerIdentity)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.id_number"):
        msgspec.json.decode('{"name": "信访人乙", "id_number": "43122819800101123Y"}', type=PetitionerIdentity)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.phone"):
        msgspec.json.decode('{"name": "信访人乙", "phone": "138 0013 8000"}', type=PetitionerIdentity)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.name"):
        msgspec.json.decode('{"name": ""}', type=PetitionerIdentity)
    with pytest.raises(msgspec.ValidationError, match="unknown field `ethnicity`"):
        msgspec.json.decode('{"name": "信访人乙", "ethnicity": "汉"}', type=PetitionerIdentity)
    lower_x = msgspec.json.decode(
        '{"name": "信访人乙", "id_number": "43122819800101123x"}', type=PetitionerIdentity
    )
    assert lower_x.id_number.endswith("x")


def test_invalid_identity_refused_by_put(vault: Vault, ref: str) -> None:
    with pytest.raises(InvalidIdentity, match="身份信息不符合要求") as caught:
        vault.put(ref, PetitionerIdentity(name="信访人乙", id_number="12345"))
    assert caught.value.code == "invalid_identity"
    assert "$.id_number" in str(caught.value)
    assert vault.status(ref) == "unknown"  # nothing stored, not even a key


@pytest.mark.parametrize("bad", ["", "P 2021", "信访人-1", "x" * 65])
def test_invalid_reference(vault: Vault, bad: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        vault.get(bad)
    assert caught.value.code == "invalid_reference"
    with pytest.raises(InvalidReference):
        vault.put(bad, PETITIONER)


def test_repr_masks_identity() -> None:
    text = repr(PETITIONER)
    assert PETITIONER.name not in text and PETITIONER.id_number not in text and PETITIONER.phone not in text
    assert "431228" in text and "信**" in text


# ── URLs ─────────────────────────────────────────────────────────────────────


def test_relative_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    monkeypatch.chdir(tmp_path)
    with Vault.open("sqlite:///var/xinfang.sqlite3", master_key=MASTER) as v:
        v.put(ref, PETITIONER)
        assert repr(v) == "Vault(sqlite)"
    assert (tmp_path / "var" / "xinfang.sqlite3").is_file()


@pytest.mark.parametrize("url", ["mysql://root:s3cret@db/ledger", "sqlite://", "ledger.sqlite3"])
def test_unsupported_url(url: str) -> None:
    with pytest.raises(VaultUnavailable, match="不支持的数据库地址") as caught:
        Vault.open(url, master_key=MASTER)
    assert "s3cret" not in str(caught.value)
    assert caught.value.code == "vault_unavailable"


def test_unreachable_postgres() -> None:
    with pytest.raises(VaultUnavailable, match="无法打开身份信息库"):
        Vault.open("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2", master_key=MASTER)
