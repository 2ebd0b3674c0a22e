"""The real ``xinfang serve`` process on loopback: a case handled to conclusion over HTTP, its
inclusion proof checked against the signed checkpoint, and concurrent clients that lose nothing.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from support.postgres import postgres_database
from support.rfc9162 import check_case, check_consistency
from support.serve import Server

from ledger.integrity import note

CHINA = timezone(timedelta(hours=8))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """SQLite with one worker; PostgreSQL with two worker processes racing on the same cases."""
    tmp = tmp_path_factory.mktemp("serve")
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(postgres_database(request.getfixturevalue("postgres_admin"), "xinfang_serve"))
        server = Server(tmp, url, workers=2 if url else 1)
        stack.callback(server.stop)
        server.cli("init")
        server.start()
        yield server


def at(days: int, hour: int = 9) -> str:
    return (datetime(2021, 3, 1, hour, tzinfo=CHINA) + timedelta(days=days)).isoformat()


def client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def county(server: Server) -> dict[str, str]:
    tokens = {"admin": server.token("admin", "county", "admin-1"), "clerk": server.token("clerk", "xfj", "clerk-1"),
              "handler": server.token("handler", "town-a", "handler-a")}
    with client(server, tokens["admin"]) as admin:
        for i, (code, kind, parent) in enumerate([("county", "县", None), ("xfj", "部门", "county"),
                                                  ("town-a", "乡镇", "county")]):
            ok(admin.post("/api/units", json={"type": "RegisterUnit", "command_id": f"u-{i}", "occurred_at": at(-30),
                                              "code": code, "name": code, "kind": kind, "parent": parent}))
    return tokens


def test_a_case_is_handled_to_conclusion_over_http_and_proven(server: Server, county: dict[str, str]) -> None:
    with client(server, county["clerk"]) as clerk, client(server, county["handler"]) as handler:
        registered = ok(clerk.post("/api/cases", json={
            "type": "RegisterPetition", "command_id": "e2e-1", "occurred_at": at(0), "channel": "来信",
            "subject": "拖欠工资", "home_township": "town-a", "petitioners": ["P-1"]}))
        number = registered["key"]
        steps = [(clerk, "ForwardCase", {"to_unit": "town-a"}), (handler, "AcceptCase", {}),
                 (handler, "RecordInvestigation", {"note": "走访核实"}), (handler, "IssueDecision", {"outcome": "支持"}),
                 (handler, "ServeDecision", {}), (handler, "ConcludeCase", {})]
        for day, (who, kind, fields) in enumerate(steps, start=1):
            body = {"type": kind, "command_id": f"e2e-{number}-{day}", "occurred_at": at(day), "case": number,
                    "expected_version": day, **fields}
            ok(who.post(f"/api/cases/{number}/commands", json=body))
        view = ok(handler.get(f"/api/cases/{number}"), 200)
        assert view["stage"] == "已办结"
        assert view["version"] == len(steps) + 1

        timeline = ok(handler.get(f"/api/cases/{number}/timeline"), 200)
        assert [e["actor"]["id"] for e in timeline] == ["clerk-1", "clerk-1"] + ["handler-a"] * 5
        proof = ok(handler.get(f"/api/cases/{number}/proof"), 200)
        leaves = check_case(proof)
        assert [leaf["seq"] for leaf in leaves] == [e["seq"] for e in timeline]
        assert [e["proof"]["leaf_hash"] for e in proof["events"]] == [e["leaf_hash"] for e in timeline]
        root = bytes.fromhex(proof["root_hash"])

        checkpoint = handler.get("/api/integrity/checkpoint")
        key = handler.get("/api/integrity/verifier-key").text
        signed = note.open_checkpoint(checkpoint.text, key)
        if signed.size == proof["tree_size"]:
            assert signed.root == root
        consistency = ok(handler.get(f"/api/integrity/consistency?first={proof['tree_size']}&second={signed.size}"), 200)
        check_consistency(consistency, root, signed.root)
        assert base64.b64encode(signed.root).decode() in checkpoint.text


CLIENTS, REQUESTS, CASES = 8, 50, 4


def test_concurrent_clients_lose_and_duplicate_nothing(server: Server, county: dict[str, str]) -> None:
    """N clients act on the same cases, some with stale versions, some retrying; the ledger ends
    with exactly the acknowledged events, each once."""
    numbers = []
    with client(server, county["clerk"]) as clerk, client(server, county["handler"]) as handler:
        for i in range(CASES):
            number = ok(clerk.post("/api/cases", json={
                "type": "RegisterPetition", "command_id": f"load-reg-{i}", "occurred_at": at(0), "channel": "来访",
                "subject": "并发", "home_township": "town-a"}))["key"]
            ok(clerk.post(f"/api/cases/{number}/commands", json={
                "type": "ForwardCase", "command_id": f"load-fwd-{i}", "occurred_at": at(1), "case": number,
                "to_unit": "town-a"}))
            ok(handler.post(f"/api/cases/{number}/commands", json={
                "type": "AcceptCase", "command_id": f"load-acc-{i}", "occurred_at": at(2), "case": number}))
            numbers.append(number)

    acknowledged: dict[str, set[str]] = {n: set() for n in numbers}
    statuses: list[int] = []
    lock = threading.Lock()
    errors: list[str] = []

    def work(worker: int) -> None:
        rng = random.Random(worker)
        with client(server, county["handler"]) as http:
            last: dict[str, Any] | None = None
            last_acked = False
            for i in range(REQUESTS):
                if last is not None and rng.random() < 0.15:
                    body, first = last, "repeat"  # a retry of the previous request: must not write again
                else:
                    number = rng.choice(numbers)
                    body = {"type": "RecordInvestigation", "command_id": f"load-{worker}-{i}", "occurred_at": at(3),
                            "case": number, "note": f"第{worker}组第{i}次"}
                    if rng.random() < 0.3:
                        body["expected_version"] = rng.randint(3, 12)
                    first = "new"
                response = http.post(f"/api/cases/{body['case']}/commands", json=body)
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 201:
                        if first == "repeat" and last_acked:
                            errors.append(f"retry of {body['command_id']} wrote again")
                        acknowledged[body["case"]].add(body["command_id"])
                    elif response.status_code == 200:
                        if not response.json()["repeated"]:
                            errors.append(f"200 without repeated for {body['command_id']}")
                    elif response.status_code != 409 or "expected_version" not in body:
                        errors.append(f"{body['command_id']}: {response.status_code} {response.text[:200]}")
                last_acked = response.status_code in (200, 201)
                last = body

    threads = [threading.Thread(target=work, args=(w,)) for w in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:10]
    assert len(statuses) == CLIENTS * REQUESTS

    with client(server, county["handler"]) as http:
        for number in numbers:
            timeline = ok(http.get(f"/api/cases/{number}/timeline"), 200)
            written = [e["command_id"] for e in timeline if e["command_id"].startswith("load-") and
                       e["type"] == "InvestigationRecorded"]
            assert len(written) == len(set(written)), "an event was written twice"
            assert set(written) == acknowledged[number]
            assert [e["version"] for e in timeline] == list(range(1, len(timeline) + 1))
