"""What each kind of answer looks like: results, repeats, every problem type, imports, feed, proofs."""

from __future__ import annotations

from datetime import datetime

import msgspec
from api_world import World
from support.rfc9162 import check_consistency, check_inclusion

from ledger.domain.case import CHINA
from ledger.integrity import note

NOW = datetime.now().astimezone().isoformat()


def act(world: World, who: str, number: str, kind: str, command_id: str, **fields: object) -> object:
    body = {"type": kind, "command_id": command_id, "occurred_at": fields.pop("occurred_at", NOW), "case": number,
            **fields}
    return world.post(f"/api/cases/{number}/commands", body, who)


def problem(response: object, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_a_retried_command_is_answered_once_and_written_once(world: World) -> None:
    first = act(world, "handler-a", "A-1", "AcceptCase", "retry-1")
    assert first.status_code == 201 and first.json()["repeated"] is False
    size = world.size()
    again = act(world, "handler-a", "A-1", "AcceptCase", "retry-1")
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert {k: v for k, v in again.json().items() if k != "repeated"} == \
           {k: v for k, v in first.json().items() if k != "repeated"}
    assert world.size() == size
    reused = act(world, "handler-a", "A-1", "RecordInvestigation", "retry-1", note="另一条命令")
    assert problem(reused, 409, "command-id-reused")["code"] == "command_id_reused"


def test_refusals_carry_their_reason(sqlite_world: World) -> None:
    world = sqlite_world
    stale = problem(act(world, "handler-a", "A-1", "AcceptCase", "s-1", expected_version=1), 409, "stale-version")
    assert stale["current_version"] == 2
    assert "当前版本 2" in str(stale["detail"])
    illegal = problem(act(world, "handler-a", "A-1", "IssueDecision", "s-2", outcome="支持"), 409, "illegal-transition")
    assert "受理" in str(illegal["detail"])
    assert act(world, "handler-a", "A-1", "AcceptCase", "s-3").status_code == 201
    extension = act(world, "handler-a", "A-1", "ExtendDeadline", "s-4", days=10, approved_by="head-a",
                    petitioner_notified=False)
    assert "告知信访人" in str(problem(extension, 422, "rule-violation")["detail"])
    unknown = act(world, "handler-a", "A-1", "ExtendDeadline", "s-5", days=10, approved_by="nobody",
                  petitioner_notified=True)
    assert problem(unknown, 422, "unknown-reference")["code"] == "unknown_reference"


def test_malformed_requests_are_explained_in_chinese(sqlite_world: World) -> None:
    world = sqlite_world
    broken = problem(world.post("/api/cases/A-1/commands", b'{"type":"AcceptCase",', "handler-a"), 400,
                     "malformed-request")
    assert "JSON" in str(broken["detail"])
    naive = problem(act(world, "handler-a", "A-1", "AcceptCase", "m-1", occurred_at="2021-03-03T09:00:00"), 400,
                    "malformed-request")
    assert "时区" in str(naive["detail"])
    mismatch = world.post("/api/cases/A-1/commands", {"type": "AcceptCase", "command_id": "m-2",
                                                      "occurred_at": NOW, "case": "B-1"}, "handler-a")
    assert problem(mismatch, 400, "malformed-request")["code"] == "case_mismatch"
    assert problem(world.get("/api/cases?limit=0", "admin"), 400, "malformed-request")["errors"]
    huge = {"type": "RecordInvestigation", "command_id": "m-3", "occurred_at": NOW, "case": "A-1",
            "note": "长" * 700_000}
    problem(world.post("/api/cases/A-1/commands", huge, "handler-a"), 413, "payload-too-large")
    unauthorised = problem(world.get("/api/cases", None), 401, "unauthorized")
    assert unauthorised["code"] == "unauthorized"
    assert world.get("/api/cases", None).headers["www-authenticate"].startswith("Bearer")


def test_registration_numbers_the_case_and_records_the_registering_unit(sqlite_world: World) -> None:
    world = sqlite_world
    body = {"type": "RegisterPetition", "command_id": "reg-1", "occurred_at": NOW, "channel": "网上",
            "subject": "社保", "home_township": "town-b"}
    result = world.post("/api/cases", body, "clerk").json()
    number = result["key"]
    assert number.startswith(f"{datetime.fromisoformat(NOW).astimezone(CHINA).year}-")  # the year in China, not here
    view = world.get(f"/api/cases/{number}", "clerk").json()
    assert view["registered_by"] == "xfj" and view["stage"] == "已登记"
    assert world.get(f"/api/cases/{number}", "handler-b").status_code == 200  # its home township
    assert world.get(f"/api/cases/{number}", "handler-a").status_code == 404


def test_search_filters(sqlite_world: World) -> None:
    world = sqlite_world
    assert {c["number"] for c in world.get("/api/cases?flag=检举", "inspector").json()["items"]} == {"J-1"}
    assert world.get("/api/cases?unit=town-b", "admin").json()["total"] == 1
    page = world.get("/api/cases?limit=1&offset=1", "admin").json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert world.get("/api/cases?stage=已归档", "admin").json()["total"] == 0


def test_every_identity_disclosure_is_an_event_only_the_inspector_sees(sqlite_world: World) -> None:
    world = sqlite_world
    assert world.client.put("/api/cases/A-1/petitioners/P-A", json={"name": "王五", "phone": "13900000000"},
                            headers=world.headers("clerk")).status_code == 200
    size = world.size()
    answer = world.get("/api/cases/A-1/petitioners/P-A?purpose=送达处理意见", "handler-a").json()
    assert answer["identity"]["name"] == "王五" and answer["read"]
    assert world.size() == size + 1
    feed = world.get(f"/api/feed?from_seq={size}&wait=0", "inspector").text
    assert "IdentityRead" in feed and answer["read"] in feed
    handler_feed = world.get(f"/api/feed?from_seq={size}&wait=0", "handler-a")
    assert handler_feed.status_code == 200 and "IdentityRead" not in handler_feed.text
    assert world.get("/api/cases/A-1/petitioners/P-B?purpose=核实", "handler-a").status_code == 404  # not this case's petitioner
    forged = {"type": "RecordIdentityRead", "command_id": "f-1", "occurred_at": NOW, "read": "r-x", "ref": "P-A"}
    assert problem(world.post("/api/commands", forged, "admin"), 403, "forbidden")


def test_a_batch_import_reports_each_line(sqlite_world: World) -> None:
    world = sqlite_world
    lines = [
        {"type": "AcceptCase", "command_id": "i-1", "occurred_at": NOW, "case": "A-1"},
        {"type": "AcceptCase", "command_id": "i-2", "occurred_at": NOW, "case": "A-1"},
        "not json",
        {"type": "AcceptCase", "command_id": "i-3", "occurred_at": NOW, "case": "no-such-case"},
        {"type": "RegisterUnit", "command_id": "i-4", "occurred_at": NOW, "code": "other-county", "name": "z",
         "kind": "县"},
        {"type": "AcceptCase", "command_id": "i-1", "occurred_at": NOW, "case": "A-1"},
    ]
    body = b"\n".join(x.encode() if isinstance(x, str) else msgspec.json.encode(x) for x in lines)
    report = world.post("/api/imports?batch=b-1", body, "admin", headers={"Content-Type": "application/x-ndjson"})
    assert report.status_code == 200, report.text
    result = report.json()
    assert (result["batch"], result["applied"], result["repeated"]) == ("b-1", 1, 1)
    assert [(r["line"], r["code"]) for r in result["refused"]] == [
        (2, "illegal_transition"), (3, "malformed_json"), (4, "unknown_case"), (5, "forbidden")]
    timeline = world.get("/api/cases/A-1/timeline", "admin").json()
    assert timeline[-1]["batch"] == "b-1" and timeline[-1]["actor"]["id"] == "admin-1"
    clerk = world.post("/api/imports", body, "clerk", headers={"Content-Type": "application/x-ndjson"}).json()
    assert clerk["applied"] == 0 and {r["code"] for r in clerk["refused"]} >= {"forbidden"}


def test_the_feed_resumes_after_the_last_event_id(sqlite_world: World) -> None:
    world = sqlite_world
    first = world.get("/api/feed?from_seq=0&wait=0", "handler-a").text
    ids = [int(line[4:]) for line in first.splitlines() if line.startswith("id: ")]
    assert ids == sorted(ids) and ids
    act(world, "handler-a", "A-1", "AcceptCase", "f-1")
    resumed = world.get("/api/feed?wait=0", "handler-a", headers={"Last-Event-ID": str(ids[-1])}).text
    assert "event: CaseAccepted" in resumed
    assert [int(line[4:]) for line in resumed.splitlines() if line.startswith("id: ")][0] > ids[-1]


def test_proofs_verify_against_the_signed_checkpoint(sqlite_world: World) -> None:
    world = sqlite_world
    key = world.get("/api/integrity/verifier-key", "inspector").text
    checkpoint = note.open_checkpoint(world.get("/api/integrity/checkpoint", "inspector").text, key)
    assert checkpoint.size == world.size()
    proof = world.get("/api/integrity/inclusion?seq=3", "inspector").json()
    assert check_inclusion(proof, trusted_root=checkpoint.root)["seq"] == 3
    consistency = world.get("/api/integrity/consistency?first=5", "inspector").json()
    check_consistency(consistency, second_root=checkpoint.root)
    problem(world.get(f"/api/integrity/inclusion?seq=0&size={world.size() + 5}", "inspector"), 400,
            "malformed-request")


def test_awards_come_as_json_csv_or_xlsx_to_appraisal_roles(sqlite_world: World) -> None:
    world = sqlite_world
    report = world.get("/api/reports/awards?period=2021", "appraiser")
    assert report.status_code == 200 and report.json()["period"] == "2021年"
    table = world.get("/api/reports/awards?period=2021&format=csv", "inspector")
    assert table.headers["content-type"].startswith("text/csv") and "称号" in table.text
    sheet = world.get("/api/reports/awards?period=2021", "admin",
                      headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert sheet.content[:2] == b"PK"
    problem(world.get("/api/reports/awards?period=2021", "admin", headers={"Accept": "image/png"}), 406,
            "not-acceptable")
    problem(world.get("/api/reports/awards?period=20x1", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/awards?period=2021", "handler-a"), 403, "forbidden")


def test_the_timeline_says_what_each_event_says(world: World) -> None:
    timeline = world.get("/api/cases/A-1/timeline", "handler-a").json()
    assert [entry["text"] for entry in timeline] == [
        "示范县信访局登记来访信访事项 A-1「土地征收补偿」（属地甲镇，1人）",
        "示范县信访局将本件转送甲镇办理",
    ]


def test_a_migration_import_is_an_administrators_declared_act(world: World) -> None:
    history = {"type": "AcceptCase", "command_id": "mig-1", "occurred_at": "2021-03-05T09:00:00+08:00", "case": "A-1",
               "original_actor": {"official": "old-07", "unit": "town-a"}}
    body = msgspec.json.encode(history)
    jsonl = {"Content-Type": "application/x-ndjson"}
    size = world.size()
    assert problem(world.post("/api/imports?migration=M-1", body, "clerk", headers=jsonl), 403, "forbidden")
    undeclared = world.post("/api/imports?migration=M-1", body, "admin", headers=jsonl).json()
    assert [r["code"] for r in undeclared["refused"]] == ["unknown_migration"] and world.size() == size

    declare = {"type": "DeclareMigration", "command_id": "decl-1", "occurred_at": NOW, "migration": "M-1",
               "source": "乡镇原信访台账", "cutoff": "2021-04-01T00:00:00+08:00", "expected": 1}
    assert problem(world.post("/api/commands", declare, "clerk"), 403, "forbidden")
    assert world.post("/api/commands", declare, "admin").status_code == 201
    imported = world.post("/api/imports?migration=M-1", body, "admin", headers=jsonl).json()
    assert (imported["applied"], imported["migration"]) == (1, "M-1")
    last = world.get("/api/cases/A-1/timeline", "inspector").json()[-1]
    assert (last["migration"], last["original_actor"]["official"], last["actor"]["id"]) == ("M-1", "old-07", "admin-1")
