"""Reports as files for the offices that live in Excel: CSV with a BOM, XLSX with one sheet per section."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook

from support.county import CLERK, HANDLER, START, case_path, command
from support.projections import County, cli


def small_year(county: County) -> None:
    county.now = START + timedelta(days=60)
    for i in range(1, 4):
        county.run(case_path(f"2021-{i:06d}", "已办结", START + timedelta(days=i)), HANDLER)
    county.run([command("RecordDispute", START, dispute="D-1"), command("ResolveDispute", START + timedelta(days=2))],
               CLERK)


def test_xlsx_has_a_sheet_per_section_with_chinese_headers_and_numbers(county: County, tmp_path: Path) -> None:
    small_year(county)
    out = tmp_path / "2021.xlsx"
    result = cli(county.url, "report", "indicators", "--period", "2021", "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames[:3] == ["依据", "四率及办结率", "化解与回访"] and "明细：各数字背后的案件" in book.sheetnames
    sheet = book["化解与回访"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["单位", "矛盾纠纷化解率·分子", "矛盾纠纷化解率·分母", "矛盾纠纷化解率·%"]
    total = [c.value for c in sheet[2]]
    assert total[:4] == ["合计", 1, 1, 100.0]
    basis = {row[0].value: row[1].value for row in book["依据"].iter_rows(min_row=2)}
    assert basis["日志前缀（树大小）"] == county.size()


def test_csv_opens_in_excel_and_lists_the_cases_behind_each_figure(county: County, tmp_path: Path) -> None:
    small_year(county)
    out = tmp_path / "acc.csv"
    result = cli(county.url, "report", "accountability", "--period", "2021", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the Chinese right
    text = raw.decode("utf-8-sig")
    assert "【单位】" in text and "【明细：各数字背后的案件】" in text and "2021-000001、2021-000002、2021-000003" in text


def test_the_table_lists_cases_on_request_and_a_unit_sees_only_its_own(county: County) -> None:
    small_year(county)
    table = cli(county.url, "report", "board", "--unit", "town-a").output
    assert "2021-000001" in table and "案件看板（3 件）" in table
    assert "案件看板（0 件）" in cli(county.url, "report", "board", "--unit", "town-b").output
    listed = cli(county.url, "report", "indicators", "--period", "2021", "--cases").output
    assert "明细：各数字背后的案件" in listed and "D-1" in listed


def test_a_report_for_a_unit_leaves_out_the_reports_against_it(county: County) -> None:
    county.now = START + timedelta(days=10)
    county.run([command("RegisterPetition", START, number="2021-000009", flags=["检举"], accused=["town-a"]),
                command("ForwardCase", START + timedelta(days=1), case="2021-000009")], CLERK)
    assert "2021-000009" in cli(county.url, "report", "board").output
    for name in ("board", "indicators", "accountability"):
        shown = cli(county.url, "report", name, "--period", "2021", "--unit", "town-a", "--cases", "--format", "json")
        assert shown.exit_code == 0 and "2021-000009" not in shown.output
