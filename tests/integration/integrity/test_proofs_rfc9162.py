"""One proof shape, checked by an outside RFC 9162 verifier, from the CLI and from the HTTP API.

The verifier (:mod:`support.rfc9162`) imports nothing from the ledger. The same functions check
what a real ``xinfang`` process prints and what the API answers, on SQLite and PostgreSQL; the
expected roots are computed by that verifier from the raw leaf rows (RFC 9162 MTH), and the CLI
and the API must answer with the same JSON, field for field.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from support.postgres import postgres_database
from support.rfc9162 import MTH, check_case, check_consistency, check_inclusion, open_checkpoint
from support.tamper import build_county

from api.app import create_app
from ledger.bootstrap import bootstrap
from ledger.integrity.keys import create_key
from ledger.tokens import TokenStore
from schemas.common import Actor

XINFANG = str(Path(sys.executable).with_name("xinfang"))
INSPECTOR = Actor(id="inspector-1", unit="county", role="inspector")
LEAVES = 22
"""The test county (support.tamper.build_county): 10 registry events, then cases 2021-000001 (seq 10-12),
2021-000002 (seq 13-18) and 2021-000003 (seq 19-21)."""


def raw_leaves(url: str) -> list[bytes]:
    """The leaf column as stored, read with the database's own driver."""
    sql = "SELECT leaf FROM ledger_leaves ORDER BY seq"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return [bytes(row[0]) for row in db.execute(sql)]
    with psycopg.connect(url) as db:
        return [bytes(row[0]) for row in db.execute(sql)]


@dataclass
class County:
    url: str
    key: Path
    leaves: list[bytes]
    api: TestClient[Any]
    token: str

    def cli(self, *args: str) -> str:
        """A real ``xinfang`` process, acting with the same inspector's token as the API calls; its standard output."""
        env = {**os.environ, "XINFANG_KEY_FILE": str(self.key)}
        env.pop("XINFANG_DATABASE_URL", None)
        done = subprocess.run([XINFANG, "--db", self.url, "--token", self.token, *args], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args))

    def get(self, path: str) -> Any:
        response = self.api.get(path, headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        return response


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def county(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """The county on each engine, built once: every test here only reads."""
    directory = tmp_path_factory.mktemp("proofs")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{directory}/ledger.sqlite3"
        else:
            url = stack.enter_context(postgres_database(request.getfixturevalue("postgres_admin")))
        key = directory / "ledger.key"
        stack.enter_context(pytest.MonkeyPatch.context()).setenv("XINFANG_KEY_FILE", str(key))
        build_county(url)
        create_key(key)
        with TokenStore(url) as store:
            token = store.create(INSPECTOR)
        client = stack.enter_context(TestClient(create_app(bootstrap(url))))
        yield County(url, key, raw_leaves(url), client, token)


def test_the_county_has_the_expected_log(county: County) -> None:
    assert len(county.leaves) == LEAVES


@pytest.mark.parametrize(("seq", "size"), [(0, 1), (5, 8), (7, 8), (8, 9), (12, 13), (13, 16), (9, 17), (21, LEAVES)])
def test_inclusion_proofs_from_cli_and_api_verify_alike(county: County, seq: int, size: int) -> None:
    printed = county.cli_json("proof", "--seq", str(seq), "--size", str(size))
    answered = county.get(f"/api/integrity/inclusion?seq={seq}&size={size}").json()
    assert printed == answered, "the CLI and the API give different proofs"
    root = MTH(county.leaves[:size])
    leaf = check_inclusion(printed, trusted_root=root)
    assert bytes.fromhex(printed["leaf"]) == county.leaves[seq]
    assert (printed["leaf_index"], printed["tree_size"], leaf["seq"]) == (seq, size, seq)


def test_the_default_tree_is_the_whole_log(county: County) -> None:
    for proof in (county.cli_json("proof", "--seq", "3"), county.get("/api/integrity/inclusion?seq=3").json()):
        check_inclusion(proof, trusted_root=MTH(county.leaves))
        assert proof["tree_size"] == LEAVES


def _flip(hex_digest: str) -> str:
    return ("1" if hex_digest[0] == "0" else "0") + hex_digest[1:]


def test_the_verifier_refuses_a_doctored_proof(county: County) -> None:
    """The checks can fail: a changed leaf, path, index or root is refused."""
    proof = county.get("/api/integrity/inclusion?seq=13&size=16").json()
    check_inclusion(proof)
    leaf = json.loads(bytes.fromhex(proof["leaf"]))
    forged = json.dumps({**leaf, "version": 2}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for doctored in (
        {**proof, "leaf": forged.encode().hex()},
        {**proof, "inclusion_path": [_flip(proof["inclusion_path"][0]), *proof["inclusion_path"][1:]]},
        {**proof, "inclusion_path": proof["inclusion_path"][:-1]},
        {**proof, "leaf_index": 12},
        {**proof, "root_hash": _flip(proof["root_hash"])},
        {**proof, "extra": 1},
    ):
        with pytest.raises(AssertionError):
            check_inclusion(doctored)
    with pytest.raises(AssertionError):
        check_inclusion(proof, trusted_root=MTH(county.leaves[:15]))


@pytest.mark.parametrize(("first", "second"),
                         [(1, 2), (1, LEAVES), (3, 7), (4, 8), (5, 16), (8, LEAVES), (13, 21), (21, LEAVES), (9, 9)])
def test_consistency_proofs_from_cli_and_api_verify_alike(county: County, first: int, second: int) -> None:
    printed = county.cli_json("proof", "--from", str(first), "--to", str(second))
    answered = county.get(f"/api/integrity/consistency?first={first}&second={second}").json()
    assert printed == answered, "the CLI and the API give different proofs"
    assert (printed["first"], printed["second"]) == (first, second)
    check_consistency(printed, MTH(county.leaves[:first]), MTH(county.leaves[:second]))
    if printed["consistency_path"]:
        with pytest.raises(AssertionError):
            check_consistency({**printed, "consistency_path": printed["consistency_path"][:-1]})


def test_a_case_proof_checks_out_against_the_signed_checkpoint(county: County) -> None:
    key = county.cli("checkpoint", "--verifier-key").strip()
    assert county.get("/api/integrity/verifier-key").text.strip() == key
    for note in (county.cli("checkpoint"), county.get("/api/integrity/checkpoint").text):
        origin, size, root = open_checkpoint(note, key)
        assert origin.startswith("xinfang-ledger/") and size == LEAVES and root == MTH(county.leaves)
    printed = county.cli_json("proof", "--case", "2021-000002")
    answered = county.get("/api/cases/2021-000002/proof").json()
    assert printed == answered, "the CLI and the API give different proofs"
    assert printed["case"] == "2021-000002" and printed["tree_size"] == LEAVES
    leaves = check_case(printed, trusted_root=root)
    assert [leaf["seq"] for leaf in leaves] == list(range(13, 19))
    assert leaves[0]["type"] == "PetitionRegistered"
    earlier = county.get("/api/cases/2021-000002/proof?size=16").json()
    assert [leaf["seq"] for leaf in check_case(earlier, trusted_root=MTH(county.leaves[:16]))] == [13, 14, 15]
    with pytest.raises(AssertionError):
        check_case({**printed, "events": printed["events"][1:]})


def test_the_cli_names_any_aggregate_by_id(county: County) -> None:
    case = county.get("/api/cases/2021-000002/proof").json()
    by_id = county.cli_json("proof", "--case", case["aggregate_id"])
    assert by_id == case
    unit = json.loads(county.leaves[0])
    registry = county.cli_json("proof", "--case", unit["aggregate_id"])
    assert registry["case"] is None
    assert check_case(registry)[0]["seq"] == 0
