"""Every role against every route: own unit, foreign unit, and the 检举 case as the accused unit.

The expected answer of each (route, caller, case) is computed from the rules of
:mod:`ledger.access` written out again here in plain terms; a refused request must write nothing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from api_world import CASES, TOKENS, VISIBLE, World

WRITERS_OF = {
    "CorrectEvent": {"clerk", "handler", "leader", "admin"},
    "IssueDecision": {"handler", "leader", "admin"},
}
WHOLE_COUNTY = {"admin", "inspector", "appraiser"}
"""Read reports for any unit; every other role for its own unit (the default) and the units below it."""
APPRAISERS = {"appraiser", "inspector", "admin"}
UNIT_OF = {caller: actor.unit for caller, actor in TOKENS.items()}
BELOW = {"county": {"county", "xfj", "town-a", "town-b", "village-a1", "dept-land"}, "xfj": {"xfj"},
         "town-a": {"town-a", "village-a1"}, "town-b": {"town-b"}, "village-a1": {"village-a1"}}
"""The unit tree of the world, written out: each unit and the units below it."""
CALLERS = [*TOKENS, None, "bogus"]
NOW = datetime.now().astimezone().isoformat()


def role(caller: str | None) -> str | None:
    return TOKENS[caller].role if caller in TOKENS else None


def sees(caller: str, number: str) -> bool:
    return number in VISIBLE[caller]


def case_write(command: str, caller: str | None, number: str, success: int) -> int:
    if caller not in TOKENS:
        return 401
    if role(caller) not in WRITERS_OF[command]:
        return 403
    return success if sees(caller, number) else 404


def case_read(caller: str | None, number: str) -> int:
    if caller not in TOKENS:
        return 401
    return 200 if sees(caller, number) else 404


IDENTITY: dict[str, dict[str, tuple[int, int, int]]] = {
    # caller: {case: (read with a purpose, write, erase)} — the rules of ledger.access written out by hand.
    # Every identity is held by the 信访局 (xfj), which registered all three cases.
    "admin": {"A-1": (200, 200, 200), "B-1": (200, 200, 200), "J-1": (200, 200, 200)},
    "clerk": {"A-1": (200, 200, 200), "B-1": (200, 200, 200), "J-1": (200, 200, 200)},
    "handler-a": {"A-1": (200, 403, 403), "B-1": (404, 404, 404), "J-1": (404, 404, 404)},
    "handler-b": {"A-1": (404, 404, 404), "B-1": (200, 403, 403), "J-1": (404, 404, 404)},
    "village": {"A-1": (404, 404, 404), "B-1": (404, 404, 404), "J-1": (404, 404, 404)},
    "head-a": {"A-1": (200, 403, 403), "B-1": (404, 404, 404), "J-1": (404, 404, 404)},
    "leader": {"A-1": (200, 200, 403), "B-1": (200, 200, 403), "J-1": (200, 200, 403)},
    "inspector": {"A-1": (200, 403, 403), "B-1": (200, 403, 403), "J-1": (200, 403, 403)},
    "appraiser": {"A-1": (403, 403, 403), "B-1": (403, 403, 403), "J-1": (403, 403, 403)},
}
"""Handlers read the identity through a case the holder registered and they can see; nobody a 检举 accuses
(town-a, head-a, and village-a1 below town-a) learns that P-J exists; erasure stays with the holder or an
admin above it; appraisers never touch identities."""


def identity(action: int, number: str) -> Callable[[str | None], int]:
    return lambda c: 401 if c not in TOKENS else IDENTITY[c][number][action]


def unit_report(unit: str) -> Callable[[str | None], int]:
    def expected(caller: str | None) -> int:
        if caller not in TOKENS:
            return 401
        return 200 if role(caller) in WHOLE_COUNTY or unit in BELOW[UNIT_OF[caller]] else 403

    return expected


def appraisal(success: int) -> Callable[[str | None], int]:
    return lambda c: 401 if c not in TOKENS else success if role(c) in APPRAISERS else 403


def request(world: World, caller: str | None, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": "Bearer xft_not-a-real-token"} if caller == "bogus" else world.headers(caller)
    if method == "GET":
        return world.client.get(path, headers=headers)
    if method == "PUT":
        return world.client.put(path, json=body, headers=headers)
    if method == "DELETE":
        return world.client.delete(path, headers=headers)
    return world.post(path, body, who=None, headers=headers)


Check = tuple[str, str, Any, Callable[[str | None], int]]


def checks_for_case(number: str) -> list[Check]:
    ref = CASES[number]
    correct = {"type": "CorrectEvent", "case": number, "occurred_at": NOW, "corrects_version": 1, "reason": "测试"}
    decide = {"type": "IssueDecision", "case": number, "occurred_at": NOW, "outcome": "支持"}
    return [
        ("GET", f"/api/cases/{number}", None, lambda c: case_read(c, number)),
        ("GET", f"/api/cases/{number}/timeline", None, lambda c: case_read(c, number)),
        ("GET", f"/api/cases/{number}/proof", None, lambda c: case_read(c, number)),
        ("POST", f"/api/cases/{number}/commands", decide, lambda c: case_write("IssueDecision", c, number, 409)),
        ("POST", f"/api/cases/{number}/commands", correct, lambda c: case_write("CorrectEvent", c, number, 201)),
        ("GET", f"/api/cases/{number}/petitioners/{ref}?purpose=核实身份", None, identity(0, number)),
        ("PUT", f"/api/cases/{number}/petitioners/{ref}", {"name": "信访人乙"}, identity(1, number)),
        ("DELETE", f"/api/petitioners/{ref}", None, identity(2, number)),
    ]


def global_checks() -> list[Check]:
    authed: Callable[[str | None], int] = lambda c: 200 if c in TOKENS else 401  # noqa: E731
    admin_only: Callable[[str | None], int] = lambda c: 401 if c not in TOKENS else 201 if role(c) == "admin" else 403  # noqa: E731
    letter = {"type": "IssueRecommendation", "occurred_at": NOW, "kind": "督办单", "to_unit": "town-b",
              "reply_due": "2026-12-31"}
    return [
        ("GET", "/api/cases", None, authed),
        ("GET", "/api/overdue", None, authed),
        ("GET", "/api/units", None, authed),
        ("GET", "/api/officials", None, authed),
        ("GET", "/api/me", None, authed),
        ("GET", "/api/integrity/consistency?first=1", None, authed),
        ("GET", "/api/integrity/checkpoint", None, authed),
        ("GET", "/api/integrity/verifier-key", None, authed),
        ("GET", "/api/feed?from_seq=0&wait=0", None, authed),
        ("GET", "/api/units/town-b", None,
         lambda c: 401 if c not in TOKENS else 200 if c in {"admin", "leader", "inspector", "appraiser", "handler-b"}
         else 404),
        ("POST", "/api/units", {"type": "RegisterUnit", "occurred_at": NOW, "code": "new-unit", "name": "新乡",
                                "kind": "乡镇", "parent": "county"}, admin_only),
        ("POST", "/api/officials", {"type": "RegisterOfficial", "occurred_at": NOW, "code": "new-official",
                                    "name": "新干部", "unit": "town-b", "title": "干事"}, admin_only),
        ("POST", "/api/commands", letter,
         lambda c: 401 if c not in TOKENS else 201 if role(c) == "admin" else 403),
        ("GET", "/api/reports/awards?period=2021", None,
         lambda c: 401 if c not in TOKENS else 200 if role(c) in {"admin", "leader", "inspector", "appraiser"} else 403),
        ("POST", "/api/imports", b"", lambda c: 401 if c not in TOKENS else 400 if role(c) in {"admin", "clerk"}
         else 403),
        ("GET", "/api/reports/board", None, authed),
        ("GET", "/api/reports/indicators?period=2021&format=csv", None, authed),
        ("GET", "/api/reports/indicators?period=2021&unit=town-b", None, unit_report("town-b")),
        ("GET", "/api/reports/accountability?period=2021&unit=village-a1&format=xlsx", None, unit_report("village-a1")),
        ("GET", "/api/reports/board?unit=xfj", None, unit_report("xfj")),
        ("POST", "/api/appraisals", {"period": "2021"}, appraisal(200)),
        ("POST", "/api/appraisals/check", {"body": {}, "signature": {"key": "k", "value": "v"}}, appraisal(422)),
    ]


def test_every_role_on_every_route(world: World) -> None:
    for number, ref in CASES.items():
        world.client.put(f"/api/cases/{number}/petitioners/{ref}", json={"name": "信访人丙"},
                         headers=world.headers("clerk"))
    counter = itertools.count()
    failures = []
    checks = [check for number in CASES for check in checks_for_case(number)] + global_checks()
    for (method, path, body, expected), caller in itertools.product(checks, CALLERS):
        if isinstance(body, dict) and body.get("type"):
            body = {**body, "command_id": f"m-{next(counter)}"}
            if body["type"] in {"RegisterUnit", "RegisterOfficial", "IssueRecommendation"}:
                key = {"RegisterUnit": "code", "RegisterOfficial": "code", "IssueRecommendation": "letter"}[body["type"]]
                body[key] = f"{body.get(key, 'L')}-{body['command_id']}"
        before = world.size()
        response = request(world, caller, method, path, body)
        want = expected(caller)
        if response.status_code != want:
            failures.append(f"{method} {path} as {caller}: {response.status_code} ≠ {want}: {response.text[:160]}")
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), path
            if world.size() != before:
                failures.append(f"{method} {path} as {caller}: refused ({response.status_code}) but wrote")
    assert not failures, "\n".join(failures)


def test_search_and_feed_show_only_visible_cases(world: World) -> None:
    for caller in TOKENS:
        found = {item["number"] for item in world.get("/api/cases", caller).json()["items"]}
        assert found == VISIBLE[caller], caller
        board = {item["number"] for item in world.get("/api/overdue", caller).json()["items"]}
        assert board <= VISIBLE[caller], caller
        feed = world.get("/api/feed?from_seq=0&wait=0", caller).text
        keys = {line.split('"key":"')[1].split('"')[0] for line in feed.splitlines()
                if line.startswith("data:") and '"aggregate":"case"' in line}
        assert keys == VISIBLE[caller], caller


def test_the_recorded_actor_is_the_token_s(world: World) -> None:
    body = {"type": "CorrectEvent", "command_id": "actor-1", "case": "A-1", "occurred_at": NOW,
            "corrects_version": 1, "reason": "测试"}
    assert world.post("/api/cases/A-1/commands", body, "handler-a").status_code == 201
    smuggled = {**body, "command_id": "actor-2", "actor": {"id": "admin-1", "unit": "county", "role": "admin"}}
    assert world.post("/api/cases/A-1/commands", smuggled, "handler-a").status_code == 400
    last = world.get("/api/cases/A-1/timeline", "handler-a").json()[-1]
    assert last["actor"] == {"id": "handler-a", "unit": "town-a", "role": "handler"}
    assert last["command_id"] == "actor-1"


def test_reports_list_only_visible_cases(world: World) -> None:
    """Every report, in every format, with the cases behind its figures: never a case its reader cannot see."""
    for caller in TOKENS:
        shown: set[str] = set()
        for name in ("board", "indicators", "accountability"):
            for fmt in ("json", "csv"):
                response = world.get(f"/api/reports/{name}?period=2021&cases=true&format={fmt}", caller)
                assert response.status_code == 200, (caller, name, fmt)
                shown |= set(re.findall(r"\b[ABJ]-1\b", response.content.decode("utf-8-sig")))
        assert shown <= VISIBLE[caller], caller


@pytest.mark.parametrize("caller", ["handler-a", "inspector"])
def test_inclusion_proof_by_seq_respects_confidentiality(world: World, caller: str) -> None:
    timeline = world.get("/api/cases/J-1/timeline", "inspector").json()
    seq = timeline[0]["seq"]
    response = world.get(f"/api/integrity/inclusion?seq={seq}", caller)
    assert response.status_code == (200 if caller == "inspector" else 404)
