"""Identity vault on real databases: a SQLite file and a throw-away PostgreSQL database."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from ledger.vault import (
    IdentityErased,
    InvalidIdentity,
    InvalidReference,
    UnknownPetitioner,
    Vault,
    VaultError,
    VaultIntegrityError,
    VaultUnavailable,
)
from schemas.identity import PetitionerIdentity
from support.postgres import postgres_database

PETITIONER = PetitionerIdentity(
    name="信访人甲",
    id_number="43122819800101123X",
    phone="+86-138-0013-8000",
    address="示范县甲镇一村1组1号",
)


@dataclass
class Database:
    """A database under test: the URL the vault opens, and direct SQL on the same tables."""

    url: str
    query: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


@pytest.fixture(scope="session")
def postgres_url(postgres_admin: str) -> Iterator[str]:
    with postgres_database(postgres_admin, "xinfang_vault_test") as url:
        yield url


def _sqlite_query(path: Path) -> Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]:
    def query(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            with conn:
                return conn.execute(statement, params).fetchall()
        finally:
            conn.close()

    return query


def _postgres_query(url: str) -> Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]:
    def query(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    return query


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"
        return Database(f"sqlite:///{path}", _sqlite_query(path))
    url = request.getfixturevalue("postgres_url")
    return Database(url, _postgres_query(url))


@pytest.fixture
def vault(database: Database) -> Iterator[Vault]:
    with Vault.open(database.url) as v:
        yield v


@pytest.fixture
def ref() -> str:
    return f"P-2021-{secrets.token_hex(4)}"


def raw_key(database: Database, ref: str) -> tuple[Any, Any]:
    [(key, erased_at)] = database.query("SELECT key, erased_at FROM vault_keys WHERE ref = ?", (ref,))
    return (bytes(key) if key is not None else None), erased_at


def raw_identity(database: Database, ref: str) -> tuple[bytes, bytes]:
    [(nonce, ciphertext)] = database.query(
        "SELECT nonce, ciphertext FROM vault_identities WHERE ref = ?", (ref,)
    )
    return bytes(nonce), bytes(ciphertext)


# ── round trip ───────────────────────────────────────────────────────────────


def test_put_get_round_trip(vault: Vault, database: Database, ref: str) -> None:
    assert vault.status(ref) == "unknown"
    vault.put(ref, PETITIONER)
    assert vault.get(ref) == PETITIONER
    assert vault.status(ref) == "present"

    key, erased_at = raw_key(database, ref)
    nonce, _ = raw_identity(database, ref)
    assert len(key) == 32 and erased_at is None and len(nonce) == 12

    # Replacing keeps the person's key and re-seals with a fresh nonce.
    moved = msgspec.structs.replace(PETITIONER, address="湖南省怀化市鹤城区迎丰西路8号", phone="")
    vault.put(ref, moved)
    assert vault.get(ref) == moved
    assert raw_key(database, ref)[0] == key
    assert raw_identity(database, ref)[0] != nonce


def test_minimal_identity(vault: Vault, ref: str) -> None:
    vault.put(ref, PetitionerIdentity(name="买买提·艾力"))
    assert vault.get(ref) == PetitionerIdentity(name="买买提·艾力", id_number="", phone="", address="")


def test_reopen_reads_back(database: Database, ref: str) -> None:
    with Vault.open(database.url) as first:
        first.put(ref, PETITIONER)
    with Vault.open(database.url) as second:  # tables already exist
        assert second.get(ref) == PETITIONER


def test_ciphertext_reveals_nothing(vault: Vault, database: Database, ref: str) -> None:
    vault.put(ref, PETITIONER)
    key, _ = raw_key(database, ref)
    _, ciphertext = raw_identity(database, ref)
    for secret in (PETITIONER.name, PETITIONER.id_number, PETITIONER.phone, PETITIONER.address, "芷江", "1980"):
        assert secret.encode() not in ciphertext
    # Each person has their own key.
    other = f"{ref}-b"
    vault.put(other, PETITIONER)
    assert raw_key(database, other)[0] != key
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
    with pytest.raises(VaultIntegrityError) as caught:
        vault.get(other)
    assert caught.value.code == "vault_integrity"
    # Copying the key as well still fails: the reference is authenticated as associated data.
    key, _ = raw_key(database, ref)
    database.query("UPDATE vault_keys SET key = ? WHERE ref = ?", (key, other))
    with pytest.raises(VaultIntegrityError):
        vault.get(other)


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

    key, erased_at = raw_key(database, ref)
    assert key is None and erased_at is not None
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


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_erased_key_leaves_the_sqlite_files(tmp_path: Path, journal_mode: str) -> None:
    # SQLite only: PostgreSQL keeps the dead row version until VACUUM (documented limit).
    path = tmp_path / "ledger.sqlite3"
    query = _sqlite_query(path)
    query(f"PRAGMA journal_mode = {journal_mode}", ())  # as the ledger's store may have set it
    with Vault.open(f"sqlite:///{path}") as vault:
        for i in range(20):
            vault.put(f"P-2021-{i:06d}", PETITIONER)
        [(key,)] = query("SELECT key FROM vault_keys WHERE ref = ?", ("P-2021-000007",))
        files = [path, *tmp_path.glob(path.name + "-*")]
        assert any(key in f.read_bytes() for f in files)
        assert vault.erase("P-2021-000007")
        files = [path, *tmp_path.glob(path.name + "-*")]
        assert all(key not in f.read_bytes() for f in files)
        assert vault.get("P-2021-000006") == PETITIONER


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
    with Vault.open("sqlite:///var/xinfang.sqlite3") as v:
        v.put(ref, PETITIONER)
        assert repr(v) == "Vault(sqlite)"
    assert (tmp_path / "var" / "xinfang.sqlite3").is_file()


@pytest.mark.parametrize("url", ["mysql://root:s3cret@db/ledger", "sqlite://", "ledger.sqlite3"])
def test_unsupported_url(url: str) -> None:
    with pytest.raises(VaultUnavailable, match="不支持的数据库地址") as caught:
        Vault.open(url)
    assert "s3cret" not in str(caught.value)
    assert caught.value.code == "vault_unavailable"


def test_unreachable_postgres() -> None:
    with pytest.raises(VaultUnavailable, match="无法打开身份信息库"):
        Vault.open("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
