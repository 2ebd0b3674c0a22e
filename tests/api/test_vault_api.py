"""The identity vault over HTTP: a damaged identity, a missing master key, an erasure that is pending."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from api_world import World
from test_api_behaviour import problem

from support.outside import sql


def _store(world: World) -> None:
    stored = world.client.put("/api/cases/A-1/petitioners/P-A", json={"name": "信访人甲", "phone": "13900000000"},
                              headers=world.headers("clerk"))
    assert stored.status_code == 200, stored.text


def test_a_damaged_identity_is_a_problem_of_its_own(world: World) -> None:
    _store(world)
    [(ciphertext,)] = sql(world.url, "SELECT ciphertext FROM vault_identities WHERE ref = ?", "P-A")
    damaged = bytes(ciphertext)[:-1] + bytes([bytes(ciphertext)[-1] ^ 0x01])
    sql(world.url, "UPDATE vault_identities SET ciphertext = ? WHERE ref = ?", damaged, "P-A")
    body = problem(world.get("/api/cases/A-1/petitioners/P-A?purpose=核实身份", "clerk"), 409, "identity-damaged")
    assert body["code"] == "identity_damaged" and body["title"] == "身份信息已损坏"
    assert "信访人 P-A 的身份信息密文校验失败" in str(body["detail"])
    catalog = world.get("/problems", None)
    assert catalog.status_code == 200 and "identity-damaged" in catalog.text


def test_without_the_master_key_identities_are_unavailable_and_the_path_stays_on_the_server(
    world: World, tmp_path: Path
) -> None:
    master = tmp_path / "ledger.vault.key"  # beside the signing key (see the fixture)
    master.unlink()
    body = problem(world.get("/api/cases/A-1/petitioners/P-A?purpose=核实身份", "clerk"), 503, "unavailable")
    assert body["code"] == "vault_key_missing" and "主密钥" in str(body["detail"])
    assert str(tmp_path) not in str(body["detail"])


def test_an_erasure_answers_whether_it_is_complete(sqlite_world: World) -> None:
    world = sqlite_world
    _store(world)
    reader = sqlite3.connect(world.url[len("sqlite:///"):], isolation_level=None)  # e.g. a long report
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM stored_events").fetchone()
    try:
        held = world.client.delete("/api/petitioners/P-A", headers=world.headers("admin"))
        assert held.status_code == 200, held.text
        assert (held.json()["erased_now"], held.json()["pending"]) == (False, True)
        assert "读快照" in held.json()["detail"]
    finally:
        reader.execute("COMMIT")
        reader.close()
    again = world.client.delete("/api/petitioners/P-A", headers=world.headers("admin")).json()
    assert (again["erased_now"], again["pending"]) == (False, False)
    assert "已没有已销毁密钥" in again["detail"]


def test_an_erasure_with_no_reader_is_complete(world: World) -> None:
    _store(world)
    answer = world.client.delete("/api/petitioners/P-A", headers=world.headers("admin"))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["erased_now"], answer.json()["pending"]) == ("erased", True, False)
