"""Reports and appraisals over HTTP: the CLI's parameters and files, scoped to the caller, 检举 kept back.

The world (:mod:`api_world`): A-1 is town-a's, B-1 town-b's, J-1 a 检举 against town-a and its head
``head-a`` (home township town-a, handled by dept-land). All three were registered in March 2021.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from api_world import World
from openpyxl import load_workbook

from ledger.projections.export import file_sections
from ledger.projections.reports import REPORTS, Inputs, make_report, report_period
from ledger.projections.runner import Projector
from support.county import ADMIN, CLERK, START, command
from support.projections import cli

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAMES = sorted(REPORTS)


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


def as_of_now() -> str:
    return datetime.now().astimezone().isoformat()


# ── Formats ──────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", NAMES)
def test_each_report_comes_as_json_csv_or_xlsx(sqlite_world: World, name: str) -> None:
    world = sqlite_world
    query = f"/api/reports/{name}?period=2021"
    report = world.get(query, "appraiser")
    assert report.status_code == 200 and report.headers["content-type"].startswith("application/json")
    body = report.json()
    assert body["basis"]["report"] == name and body["basis"]["period"] == "2021年"
    assert body["basis"]["tree_size"] == world.size() and body["basis"]["unit"] is None

    table = world.get(f"{query}&format=csv", "inspector")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert table.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    assert table.content.startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel reads the Chinese right
    text = table.content.decode("utf-8-sig")
    assert text.startswith("\"【依据】\"\r\n\"项目\",\"内容\"\r\n") and f"\"报告\",\"{REPORTS[name]}\"" in text

    by_accept = world.get(query, "admin", headers={"Accept": "text/csv;q=0.9"})
    assert by_accept.headers["content-type"].startswith("text/csv")

    sheet = world.get(query, "admin", headers={"Accept": XLSX})
    assert sheet.status_code == 200 and sheet.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(sheet.content))
    assert book.sheetnames[0] == "依据"
    assert len(book.sheetnames) == len(file_sections(msgspec.json.decode(report.content, type=_types()[name]),
                                                     with_cases=False))
    basis = {row[0].value: row[1].value for row in book["依据"].iter_rows(min_row=2)}
    assert basis["日志前缀（树大小）"] == world.size()

    problem(world.get(query, "admin", headers={"Accept": "image/png"}), 406, "not-acceptable")


def _types() -> dict[str, type]:
    from schemas.reports import AccountabilityReport, BoardReport, IndicatorReport

    return {"board": BoardReport, "accountability": AccountabilityReport, "indicators": IndicatorReport}


@pytest.mark.parametrize("name", NAMES)
def test_the_files_are_the_ones_the_cli_writes(sqlite_world: World, tmp_path: Path, name: str) -> None:
    """One renderer: the API's JSON, CSV and XLSX are byte for byte what ``xinfang report`` writes."""
    world = sqlite_world
    as_of = as_of_now()
    params = {"period": "2021", "as_of": as_of, "cases": "true", "backfill_hours": "48", "handoffs": "1"}
    args = ["report", name, "--period", "2021", "--as-of", as_of, "--backfill-hours", "48", "--handoffs", "1"]
    json_api = world.get(f"/api/reports/{name}", "admin", params=params)
    json_cli = cli(world.url, *args, "--format", "json")
    assert json_cli.exit_code == 0, json_cli.output
    assert json_api.content + b"\n" == json_cli.stdout_bytes
    csv_api = world.get(f"/api/reports/{name}", "admin", params={**params, "format": "csv"})
    out = tmp_path / f"{name}.csv"
    assert cli(world.url, *args, "--format", "csv", "--out", str(out)).exit_code == 0
    assert csv_api.content == out.read_bytes()
    xlsx_api = world.get(f"/api/reports/{name}", "admin", params={**params, "format": "xlsx"})
    out = tmp_path / f"{name}.xlsx"
    assert cli(world.url, *args, "--format", "xlsx", "--out", str(out)).exit_code == 0
    api_book, cli_book = load_workbook(io.BytesIO(xlsx_api.content)), load_workbook(out)
    assert api_book.sheetnames == cli_book.sheetnames
    for title in api_book.sheetnames:
        assert [[c.value for c in r] for r in api_book[title].rows] == [[c.value for c in r] for r in cli_book[title].rows]


def test_the_cases_behind_the_figures_are_listed_on_request(sqlite_world: World) -> None:
    world = sqlite_world
    bare = world.get("/api/reports/indicators?period=2021", "admin").json()
    listed = world.get("/api/reports/indicators?period=2021&cases=true", "admin").json()
    assert bare["total"]["repeat"]["denominator"] == listed["total"]["repeat"]["denominator"] == 3
    assert bare["total"]["repeat"]["others"] == [] and listed["total"]["repeat"]["others"] == ["A-1", "B-1", "J-1"]
    plain = world.get("/api/reports/indicators?period=2021&format=csv", "admin")
    assert plain.status_code == 200 and "明细" not in plain.content.decode("utf-8-sig")
    text = world.get("/api/reports/indicators?period=2021&format=csv&cases=true", "admin").content.decode("utf-8-sig")
    assert "【明细：各数字背后的案件】" in text and "A-1、B-1、J-1" in text
    book = load_workbook(io.BytesIO(world.get("/api/reports/indicators?period=2021&format=xlsx&cases=true", "admin").content))
    assert "明细：各数字背后的案件" in book.sheetnames


def test_periods_as_of_and_thresholds_as_on_the_command_line(sqlite_world: World) -> None:
    world = sqlite_world
    board = world.get("/api/reports/board", "admin").json()
    assert board["basis"]["period"] == "至今登记的全部案件" and {c["number"] for c in board["cases"]} == {"A-1", "B-1", "J-1"}
    spring = world.get("/api/reports/board?from=2021-03-01&to=2021-03-31", "admin").json()
    assert spring["basis"]["period"] == "2021-03-01至2021-03-31" and len(spring["cases"]) == 3
    assert world.get("/api/reports/board?from=2021-04-01&to=2021-04-30", "admin").json()["cases"] == []
    before = world.get("/api/reports/indicators?period=2021&as_of=2000-01-01", "admin").json()
    assert before["basis"]["tree_size"] == 0 and before["total"]["repeat"]["denominator"] == 0
    accountability = world.get("/api/reports/accountability?period=2021&backfill_hours=100&handoffs=5", "admin").json()
    assert accountability["basis"]["parameters"] == {"backfill_hours": 100, "handoff_limit": 5}
    problem(world.get("/api/reports/indicators", "admin"), 400, "malformed-request")  # a period is required
    problem(world.get("/api/reports/indicators?period=2021&from=2021-01-01", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/indicators?from=2021-05-01&to=2021-04-01", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/indicators?period=20x1", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/indicators?period=2021&as_of=tomorrow", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/accountability?period=2021&backfill_hours=12", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/indicators?period=2021&format=pdf", "admin"), 400, "malformed-request")
    problem(world.get("/api/reports/awards-2?period=2021", "admin"), 404, "not-found")


# ── Scope and 检举 ───────────────────────────────────────────────────────────


def test_a_unit_reads_its_own_subtree_and_the_whole_county_roles_read_everything(sqlite_world: World) -> None:
    world = sqlite_world
    own = world.get("/api/reports/indicators?period=2021", "handler-a").json()
    assert own["basis"]["unit"] == "town-a" and [u["unit"] for u in own["units"]] in ([], ["town-a"])
    below = world.get("/api/reports/board?unit=village-a1", "handler-a")
    assert below.status_code == 200 and below.json()["basis"]["unit"] == "village-a1"
    assert problem(world.get("/api/reports/board?unit=town-b", "handler-a"), 403, "forbidden")["code"] == "forbidden"
    problem(world.get("/api/reports/board?unit=town-a", "village"), 403, "forbidden")
    problem(world.get("/api/reports/board?unit=no-such-unit", "clerk"), 400, "malformed-request")  # an unknown unit is an error, not "0 件"
    assert world.get("/api/reports/board?unit=town-b", "leader").status_code == 200  # county leader: town-b is below
    for whole in ("admin", "inspector", "appraiser"):
        county = world.get("/api/reports/board", whole).json()
        assert county["basis"]["unit"] is None and len(county["cases"]) == 3
        assert world.get("/api/reports/board?unit=town-b", whole).json()["basis"]["unit"] == "town-b"


def _everything(world: World, who: str, query: str = "") -> str:
    """Every report in every format, with the cases behind the figures, as text."""
    parts = []
    for name in NAMES:
        base = f"/api/reports/{name}?period=2021&cases=true{query}"
        answers = [world.get(base, who), world.get(f"{base}&format=csv", who), world.get(f"{base}&format=xlsx", who)]
        assert all(a.status_code == 200 for a in answers), [a.text[:200] for a in answers]  # absent, not refused
        parts.append(answers[0].text)
        parts.append(answers[1].content.decode("utf-8-sig"))
        book = load_workbook(io.BytesIO(answers[2].content))
        parts += [str(cell.value) for sheet in book for row in sheet.rows for cell in row]
    return "\n".join(parts)


def test_a_report_never_lists_a_case_its_reader_may_not_see(sqlite_world: World) -> None:
    world = sqlite_world
    # J-1 is town-a's by home township: the county's figures for town-a count it …
    county = world.get("/api/reports/indicators?period=2021&cases=true", "admin").json()
    town_a = next(u for u in county["units"] if u["unit"] == "town-a")
    assert town_a["repeat"]["others"] == ["A-1", "J-1"]
    # … but no report shows it to town-a, its head or the village below it, in any format
    for who in ("handler-a", "head-a", "village"):
        assert "J-1" not in _everything(world, who), who
    assert "A-1" in _everything(world, "handler-a")
    # nor to anyone reading the report *for* town-a
    assert "J-1" not in _everything(world, "leader", "&unit=town-a")
    for who in ("admin", "inspector", "appraiser"):
        assert "J-1" in _everything(world, who)


def test_a_report_for_a_unit_below_an_accused_one_leaves_the_case_out(sqlite_world: World) -> None:
    world = sqlite_world
    world.ledger.execute(command("RegisterPetition", START, number="V-1", home_township="town-a", petitioners=["P-V"],
                                 flags=["检举"], accused=["town-a"], subject="检举乡镇"), CLERK)
    world.ledger.execute(command("ForwardCase", START + timedelta(days=1), case="V-1", to_unit="village-a1"), CLERK)
    assert "V-1" in {c["number"] for c in world.get("/api/reports/board", "admin").json()["cases"]}
    assert world.get("/api/reports/board?unit=village-a1", "admin").json()["cases"] == []
    assert "V-1" not in _everything(world, "admin", "&unit=village-a1")
    assert "V-1" not in _everything(world, "village")
    board = cli(world.url, "report", "board", "--unit", "village-a1", "--format", "json")
    assert board.exit_code == 0 and "V-1" not in board.output


def test_a_case_against_an_official_is_kept_from_him_not_from_his_colleagues(sqlite_world: World) -> None:
    world = sqlite_world
    world.ledger.execute(command("RegisterPetition", START, number="K-1", home_township="town-a", petitioners=["P-K"],
                                 flags=["检举"], accused=["head-a"], subject="检举镇长"), CLERK)
    world.ledger.execute(command("ForwardCase", START + timedelta(days=1), case="K-1", to_unit="town-a"), CLERK)
    assert "K-1" in _everything(world, "handler-a")
    assert "K-1" not in _everything(world, "head-a")


def test_letters_decisions_and_findings_do_not_name_a_hidden_case(sqlite_world: World) -> None:
    world = sqlite_world
    on = START + timedelta(days=5)
    world.ledger.execute(command("DecideAccountability", on, decision="WZ-9", measure="约谈", unit="town-a",
                                 grounds="检举查实", cases=["J-1", "A-1"]), ADMIN)
    world.ledger.execute(command("IssueRecommendation", on, letter="L-9", kind="改进工作建议函", to_unit="town-a",
                                 reply_due=on.date() + timedelta(days=30), cases=["J-1"]), ADMIN)
    world.ledger.execute(command("ListBacklogBatch", on, batch="BL-9", name="积案", cases=["J-1", "A-1"]), ADMIN)
    county = world.get("/api/reports/accountability?period=2021&cases=true", "admin").json()
    unit = next(u for u in county["units"] if u["unit"] == "town-a")
    assert unit["decisions"][0]["cases"] == ["J-1", "A-1"] and unit["recommendations"][0]["cases"] == ["J-1"]
    own = world.get("/api/reports/accountability?period=2021&cases=true", "handler-a").json()
    unit = next(u for u in own["units"] if u["unit"] == "town-a")
    assert unit["decisions"][0]["cases"] == ["A-1"] and unit["recommendations"][0]["cases"] == []
    backlog = world.get("/api/reports/indicators?period=2021&cases=true", "handler-a").json()["backlog"]
    assert backlog[0]["resolution"]["denominator"] == 1 and backlog[0]["resolution"]["others"] == ["A-1"]
    for who in ("handler-a", "head-a", "village"):
        assert "J-1" not in _everything(world, who), who


def test_the_report_layer_keeps_back_what_it_is_told_to(sqlite_world: World) -> None:
    """``Inputs.withheld`` and a unit's 检举 leave the case out of every figure, not only the listings."""
    projector = Projector.of(sqlite_world.ledger)
    period = report_period("indicators", "2021", None, None)
    full = make_report(projector, "indicators", Inputs(period=period))
    kept = make_report(projector, "indicators", Inputs(period=period, withheld=frozenset({"B-1"})))
    assert full.total.repeat.denominator == 3 and kept.total.repeat.denominator == 2  # type: ignore[union-attr]
    assert "B-1" not in msgspec.json.encode(kept).decode()


# ── Appraisals ───────────────────────────────────────────────────────────────


def test_an_appraisal_written_over_http_is_reproduced(world: World, tmp_path: Path) -> None:
    written = world.post("/api/appraisals", {"period": "2021"}, "appraiser")
    assert written.status_code == 200 and written.headers["content-type"].startswith("application/json")
    document = written.json()
    assert document["body"]["format"] == "xinfang-appraisal/1" and document["signature"]["algorithm"] == "Ed25519"
    assert document["body"]["basis"]["tree_size"] == world.size() and document["body"]["basis"]["period"] == "2021年"
    checked = world.post("/api/appraisals/check", written.content, "inspector")
    assert checked.status_code == 200, checked.text
    result = checked.json()
    assert result["reproduced"] is True and result["signature_valid"] is True and result["key_matches_ledger"] is True
    assert result["differences"] == [] and result["reasons"] == []
    # the same file passes the command line's check
    path = tmp_path / "appraisal.json"
    path.write_bytes(written.content)
    assert cli(world.url, "appraise", "--check", str(path)).exit_code == 0

    # a figure changed after signing: not reproduced, and the figure is named
    document["body"]["indicators"]["total"]["repeat"]["numerator"] = 99
    tampered = world.post("/api/appraisals/check", document, "admin").json()
    assert tampered["reproduced"] is False and tampered["signature_valid"] is False
    assert [d["path"] for d in tampered["differences"]] == ["indicators.total.repeat.numerator"]


def test_appraisal_parameters_and_refusals(sqlite_world: World, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    world = sqlite_world
    earlier = world.post("/api/appraisals", {"from": "2021-01-01", "to": "2021-06-30", "as_of": "2021-12-31",
                                             "backfill_hours": 48, "handoffs": 3}, "admin")
    assert earlier.status_code == 200, earlier.text
    basis = earlier.json()["body"]["basis"]
    assert basis["period"] == "2021-01-01至2021-06-30" and basis["tree_size"] == 0
    assert basis["parameters"] == {"backfill_hours": 48, "handoff_limit": 3}
    assert world.post("/api/appraisals/check", earlier.content, "appraiser").json()["reproduced"] is True

    problem(world.post("/api/appraisals", {"period": "20x1"}, "admin"), 400, "malformed-request")
    problem(world.post("/api/appraisals", {}, "admin"), 400, "malformed-request")
    problem(world.post("/api/appraisals", {"period": "2021", "as_of": "2999-01-01"}, "admin"), 400, "malformed-request")
    problem(world.post("/api/appraisals", {"period": "2021", "backfill_hours": 1}, "admin"), 400, "malformed-request")
    problem(world.post("/api/appraisals", {"period": "2021", "who": "x"}, "admin"), 400, "malformed-request")
    problem(world.post("/api/appraisals", b"{", "admin"), 400, "malformed-request")
    for who in ("handler-a", "leader", "clerk"):
        problem(world.post("/api/appraisals", {"period": "2021"}, who), 403, "forbidden")
        problem(world.post("/api/appraisals/check", earlier.content, who), 403, "forbidden")

    assert problem(world.post("/api/appraisals/check", b"{not json", "admin"), 400, "malformed-request")["code"] == "bad_json"
    assert problem(world.post("/api/appraisals/check", b"", "admin"), 400, "malformed-request")["code"] == "bad_json"
    for not_one in ({"report": "indicators"}, [1, 2], {"body": {}, "signature": {"key": "k", "value": "v"}}):
        body = problem(world.post("/api/appraisals/check", not_one, "admin"), 422, "not-an-appraisal")
        assert body["code"] == "not_an_appraisal"
    broken = earlier.json()
    broken["body"]["basis"]["root"] = "not hex"
    problem(world.post("/api/appraisals/check", broken, "admin"), 422, "not-an-appraisal")

    monkeypatch.setenv("XINFANG_KEY_FILE", str(tmp_path / "missing.key"))
    unsigned = problem(world.post("/api/appraisals", {"period": "2021"}, "admin"), 503, "unavailable")
    assert unsigned["code"] == "no_signing_key"
    # checking needs no key of its own: the file carries the verifier key
    still = world.post("/api/appraisals/check", earlier.content, "admin").json()
    assert still["reproduced"] is True and still["key_matches_ledger"] is None


def test_the_reports_are_documented_with_their_formats_and_errors(sqlite_world: World) -> None:
    paths = sqlite_world.get("/schema/openapi.json", None).json()["paths"]
    report = paths["/api/reports/{name}"]["get"]
    assert set(report["responses"]["200"]["content"]) == {"application/json", "text/csv", XLSX}
    assert {"400", "401", "403", "404", "406", "503"} <= set(report["responses"])
    names = {p["name"]: p for p in report["parameters"]}
    assert {"period", "from", "to", "as_of", "unit", "cases", "backfill_hours", "handoffs", "format"} <= set(names)
    assert names["name"]["schema"]["enum"] == NAMES
    assert {"200", "400", "401", "403", "413", "503"} <= set(paths["/api/appraisals"]["post"]["responses"])
    assert {"200", "400", "401", "403", "413", "422", "503"} <= set(paths["/api/appraisals/check"]["post"]["responses"])

