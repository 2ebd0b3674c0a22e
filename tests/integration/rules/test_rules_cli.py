"""``xinfang plugins`` and ``xinfang awards``: tables for people, canonical JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.canonical import canonical_json
from ledger.cli import main, output
from ledger.rules import RuleSet


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XINFANG_RULES", raising=False)
    for stream in (output.console, output.errors):  # wide enough that no cell wraps
        monkeypatch.setattr(stream, "_width", 200)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"XINFANG_OPERATOR": "ops-1"})
    return result.exit_code, result.stdout, result.stderr


def test_plugins_lists_the_active_plugins_with_hooks_config_and_fingerprint() -> None:
    code, out, _ = run("plugins", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["fingerprint"] == RuleSet().fingerprint
    plugins = {p["name"]: p for p in answer["plugins"]}
    assert {"national", "zhijiang", "qinjiang"} <= set(plugins)
    assert plugins["zhijiang"]["hooks"] == ["xinfang_awards"]
    assert plugins["zhijiang"]["config"]["township"]["awards"] == {"一类": 50000, "二类": 20000}
    assert plugins["qinjiang"]["version"] == "2024.1"

    code, out, _ = run("plugins")
    assert code == 0
    assert "规则插件" in out and "national" in out and "township.awards.一类 = 50000" in out
    assert f"规则集指纹：{answer['fingerprint']}" in out


def test_plugins_under_a_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('blocked = ["qinjiang"]\n[plugins.zhijiang.village]\naward = 6000\n', encoding="utf-8")
    code, out, _ = run("--rules", str(rules), "--json", "plugins")
    assert code == 0
    answer = json.loads(out)
    assert answer["blocked"] == ["qinjiang"] and answer["rules_file"] == str(rules)
    assert "qinjiang" not in {p["name"] for p in answer["plugins"]}
    assert next(p for p in answer["plugins"] if p["name"] == "zhijiang")["config"]["village"]["award"] == 6000
    assert answer["fingerprint"] == RuleSet.from_config(rules).fingerprint != RuleSet().fingerprint


def test_a_bad_rules_file_stops_the_command_naming_the_plugin(tmp_path: Path, database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    before = county.tree_size
    rules = tmp_path / "bad.toml"
    rules.write_text("[plugins.zhijiang.satisfaction]\nthreshold = 'high'\n", encoding="utf-8")
    code, _, err = run("--db", database_url, "--rules", str(rules), "awards", "--period", "2021")
    assert code == 2
    assert "规则插件「zhijiang」的配置无效：satisfaction.threshold" in err and "bad_plugin_config" in err
    assert county.tree_size == before


def test_awards_prints_each_unit_with_its_result_reasons_and_award(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    county.incident("village-a1", "2021-05-03", kind="非正常", level="京")
    code, out, _ = run("--db", database_url, "awards", "--period", "2021")
    assert code == 0
    assert "2021年「三无乡镇」评定" in out and "2021年「三无村(社区)」评定" in out
    for text in ("三无乡镇", "甲镇（town-a）", "乙乡（town-b）", "甲镇一村（village-a1）", "乙乡一村（village-b1）",
                 "未通过", "无进京非正常上访：2021-05-03 进京非正常访 1 人（事件 I-1，属地 甲镇一村）", "20,000",
                 "奖励合计：30,000 元", county.rules.fingerprint):
        assert text in out, text


def test_awards_json_is_the_canonical_report(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    county.incident("village-a1", "2021-05-03", kind="非正常", level="京", recorded="2022-02-01")
    code, out, _ = run("--db", database_url, "awards", "--period", "2021", "--json")
    assert code == 0
    assert out.encode() == canonical_json(county.awards("2021")) + b"\n"
    code, out, _ = run("--db", database_url, "awards", "--period", "2021", "--as-of", "2022-01-31", "--json")
    report = json.loads(out)
    assert report["as_of"] == "2022-01-31T23:59:59.999999+08:00"
    assert report["tree_size"] == county.tree_size - 1
    assert report["total"] == 50_000 + 20_000 + 3 * 5_000


def test_awards_refuses_a_bad_period(database_url) -> None:  # noqa: ANN001
    code, _, err = run("--db", database_url, "awards", "--period", "今年")
    assert code == 2 and "考核期" in err
