"""The four holes a hostile clerk found, each tried again: refused, nothing written, nothing revealed.

The world (:mod:`api_world`): the 信访局 (xfj) registered A-1 (P-A, forwarded to town-a), B-1 (P-B, to
town-b) and J-1, a 检举 accusing town-a and its head, whose whistle-blower is P-J. The clerk of xfj has
taken down each petitioner's identity, so xfj holds all three.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import msgspec
import pytest
from api_world import World

from ledger.tokens import TokenStore
from schemas.common import Actor

NOW = "2022-03-01T09:00:00+08:00"
WHISTLE_BLOWER = {"name": "检举人甲", "phone": "13900000001"}


def add_token(world: World, name: str, actor: Actor) -> None:
    with TokenStore(world.url) as store:
        world.tokens[name] = store.create(actor)


@pytest.fixture
def held(world: World) -> World:
    for number, ref in (("A-1", "P-A"), ("B-1", "P-B"), ("J-1", "P-J")):
        answer = world.client.put(f"/api/cases/{number}/petitioners/{ref}", json=WHISTLE_BLOWER,
                                  headers=world.headers("clerk"))
        assert answer.status_code == 200, answer.text
    add_token(world, "village-clerk", Actor(id="clerk-v", unit="village-a1", role="clerk"))
    add_token(world, "village-admin", Actor(id="admin-v", unit="village-a1", role="admin"))
    add_token(world, "town-b-clerk", Actor(id="clerk-b", unit="town-b", role="clerk"))
    return world


def events_of(world: World) -> list[str]:
    return [msgspec.json.decode(row.state)["event"]["type"]
            for row in world.ledger.recorder.select_events_by_seq(0, 100_000)]  # type: ignore[attr-defined]


def register(world: World, who: str, number: str, ref: str) -> None:
    body = {"type": "RegisterPetition", "command_id": f"reg-{number}", "occurred_at": NOW, "number": number,
            "channel": "来访", "subject": "土地征收补偿", "home_township": "town-a", "petitioners": [ref]}
    answer = world.post("/api/cases", body, who)
    assert answer.status_code == 201, answer.text


# ── Hole 1: identity theft by naming a reference ─────────────────────────────


def test_naming_a_whistle_blower_s_reference_in_a_new_case_grants_the_accused_nothing(held: World) -> None:
    world = held
    register(world, "village-clerk", "X-1", "P-J")  # the accused village names the whistle-blower's reference
    before = world.size()
    read = world.get("/api/cases/X-1/petitioners/P-J?purpose=核实身份", "village-clerk")
    assert read.status_code == 404 and "检举人甲" not in read.text
    write = world.client.put("/api/cases/X-1/petitioners/P-J", json={"name": "冒名者"},
                             headers=world.headers("village-clerk"))
    assert write.status_code == 404
    erase = world.client.delete("/api/petitioners/P-J", headers=world.headers("village-admin"))
    assert erase.status_code == 404
    assert world.size() == before
    still = world.get("/api/cases/J-1/petitioners/P-J?purpose=核查检举", "inspector").json()
    assert still["status"] == "present" and still["identity"]["name"] == "检举人甲"


def test_naming_another_unit_s_petitioner_grants_neither_reading_nor_overwriting(held: World) -> None:
    world = held
    register(world, "town-b-clerk", "X-2", "P-A")  # P-A is held by the 信访局, whose A-1 town-b cannot see
    before = world.size()
    read = world.get("/api/cases/X-2/petitioners/P-A?purpose=核实身份", "town-b-clerk")
    assert read.status_code == 403 and "检举人甲" not in read.text
    write = world.client.put("/api/cases/X-2/petitioners/P-A", json={"name": "冒名者"},
                             headers=world.headers("town-b-clerk"))
    assert write.status_code == 403
    assert world.size() == before
    assert world.get("/api/cases/A-1/petitioners/P-A?purpose=送达", "handler-a").json()["identity"]["name"] == "检举人甲"


def test_every_identity_write_is_an_event_with_a_digest_and_never_the_identity(held: World) -> None:
    world = held
    types = events_of(world)
    assert types.count("PetitionerIdentityRecorded") == 3
    stored = b"".join(row.state for row in world.ledger.recorder.select_events_by_seq(0, 100_000))  # type: ignore[attr-defined]
    assert "检举人甲".encode() not in stored and b"13900000001" not in stored
    recorded = [msgspec.json.decode(row.state)["event"] for row in
                world.ledger.recorder.select_events_by_seq(0, 100_000)  # type: ignore[attr-defined]
                if b"PetitionerIdentityRecorded" in row.state]
    assert {e["holder"] for e in recorded} == {"xfj"}
    assert all(re.fullmatch("[0-9a-f]{64}", e["digest"]) for e in recorded)


# ── Hole 2: the signed appraisal lists no 检举 case ───────────────────────────


def test_the_signed_appraisal_lists_no_accusation_and_still_reproduces(held: World) -> None:
    world = held
    signed = world.post("/api/appraisals", {"period": "2021"}, "appraiser")
    assert signed.status_code == 200, signed.text
    assert "J-1" not in signed.text and ("A-1" in signed.text or "B-1" in signed.text)
    check = world.post("/api/appraisals/check", signed.content, "appraiser")
    assert check.status_code == 200 and check.json()["reproduced"] is True


# ── Hole 3: no existence oracle ──────────────────────────────────────────────


def _same_answer(hidden: Any, missing: Any, hidden_number: str, missing_number: str) -> None:
    assert hidden.status_code == missing.status_code
    one, other = hidden.json(), missing.json()
    for body in (one, other):
        body.pop("instance", None)
    assert msgspec.json.encode(one).decode().replace(hidden_number, "N") == \
        msgspec.json.encode(other).decode().replace(missing_number, "N")


@pytest.mark.parametrize("route", ["case", "commands"])
def test_a_hidden_case_is_answered_exactly_as_a_missing_one(held: World, route: str) -> None:
    world = held
    before = world.size()

    def decide(number: str) -> Any:
        body = {"type": "AcceptCase", "command_id": f"x-{route}-{number}", "occurred_at": NOW, "case": number}
        path = f"/api/cases/{number}/commands" if route == "case" else "/api/commands"
        return world.post(path, body, "handler-a")

    _same_answer(decide("J-1"), decide("Z-9"), "J-1", "Z-9")
    _same_answer(world.get("/api/cases/J-1", "handler-a"), world.get("/api/cases/Z-9", "handler-a"), "J-1", "Z-9")
    assert world.size() == before


def test_a_repeat_naming_a_hidden_case_is_refused_as_one_naming_a_missing_case(held: World) -> None:
    world = held
    before = world.size()

    def repeat(number: str) -> Any:
        body = {"type": "RegisterPetition", "command_id": f"rep-{number}", "occurred_at": NOW, "channel": "来访",
                "subject": "土地征收补偿", "home_township": "town-a", "repeat_of": number}
        return world.post("/api/cases", body, "village-clerk")

    _same_answer(repeat("J-1"), repeat("Z-9"), "J-1", "Z-9")
    assert world.size() == before


def test_an_import_line_on_a_hidden_case_reads_like_one_on_a_missing_case(held: World) -> None:
    world = held
    before = world.size()
    lines = b"\n".join(msgspec.json.encode({"type": "AcceptCase", "command_id": f"imp-{n}", "occurred_at": NOW,
                                             "case": n}) for n in ("J-1", "Z-9"))
    add_token(world, "town-a-clerk", Actor(id="clerk-a", unit="town-a", role="clerk"))
    report = world.post("/api/imports", lines, "town-a-clerk",
                        headers={"Content-Type": "application/x-ndjson"}).json()
    first, second = report["refused"]
    assert (first["code"], first["message"].replace("J-1", "N")) == (second["code"], second["message"].replace("Z-9", "N"))
    assert world.size() == before


def test_a_command_id_replays_its_result_only_to_the_actor_who_sent_it(held: World) -> None:
    world = held
    body = {"type": "RegisterPetition", "command_id": "mine-1", "occurred_at": NOW, "channel": "来访",
            "subject": "土地征收补偿", "home_township": "town-b"}
    first = world.post("/api/cases", body, "clerk")
    assert first.status_code == 201
    number = first.json()["key"]
    before = world.size()
    again = world.post("/api/cases", body, "clerk")
    assert again.status_code == 200 and again.json()["repeated"] is True and again.json()["key"] == number
    other = world.post("/api/cases", body, "town-b-clerk")
    assert other.status_code == 409 and number not in other.text
    assert world.size() == before


# ── Hole 4: revocation ends an open live feed ────────────────────────────────


def test_revoking_a_token_ends_the_feed_it_opened(held: World) -> None:
    world = held
    add_token(world, "watcher", Actor(id="watcher-1", unit="county", role="inspector"))
    ended = threading.Event()

    def follow() -> None:
        with world.client.stream("GET", "/api/feed?wait=120", headers=world.headers("watcher")) as stream:
            for _ in stream.iter_lines():
                pass
        ended.set()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(1.0)
    assert not ended.is_set()
    with TokenStore(world.url) as store:
        store.revoke(next(t.id for t in store.list() if t.actor.id == "watcher-1"))
    assert ended.wait(60), "a revoked token's stream kept running"
    assert world.get("/api/me", "watcher").status_code == 401
