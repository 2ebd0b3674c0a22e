"""The rules host: discovery, blocking, configuration, fingerprint, and plugins that fail."""

from __future__ import annotations

import types
from datetime import date, datetime
from importlib import metadata
from typing import Any
from uuid import uuid4

import msgspec
import pytest

from ledger import rules as rules_module
from ledger.domain.case import CHINA, Case
from ledger.errors import ConfigError, PluginFailure
from ledger.hooks import HolidaySchedule, IncidentFact, TimeLimit, hookimpl
from ledger.rules import RuleSet
from plugins import national, qinjiang, zhijiang
from schemas.events import DecisionIssued, UnitRegistered
from support.rules import plugin

BUILT_IN = [("national", national), ("zhijiang", zhijiang), ("qinjiang", qinjiang)]


def copy_of(module: types.ModuleType, **changes: Any) -> types.ModuleType:
    copy = types.ModuleType(module.__name__)
    copy.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__") or k == "__version__"})
    copy.__dict__.update(changes)
    return copy


def a_case(**changes: Any) -> Case:
    base = Case(
        id=uuid4(), version=1, number="2021-000001", stage="已登记", channel="来访", subject="s", flags=(),
        petitioners=(), persons=1, home_township="town-a", registered_by="xfj", repeat_of=None, accused=(),
        received_on=date(2021, 3, 1), stage_since=datetime(2021, 3, 1, 9, tzinfo=CHINA),
    )
    return msgspec.structs.replace(base, **changes)


def incident(**changes: Any) -> IncidentFact:
    values: dict[str, Any] = {"incident": "I-1", "kind": "越级", "level": "县", "persons": 1,
                              "township": "town-a", "occurred_on": date(2021, 5, 3)}
    return IncidentFact(**{**values, **changes})


# ── discovery, blocking, fingerprint ─────────────────────────────────────────


def test_installed_plugins_are_discovered_through_the_entry_point_group() -> None:
    rules = RuleSet()
    names = [p.name for p in rules.plugins]
    assert {"national", "zhijiang", "qinjiang"} <= set(names)
    assert names == sorted(names)
    info = {p.name: p for p in rules.plugins}
    assert info["national"].version == national.__version__
    assert "xinfang_awards" in info["zhijiang"].hooks
    assert info["zhijiang"].config["satisfaction"]["threshold"] == 80


def test_a_blocked_plugin_is_not_loaded_and_its_configuration_is_ignored() -> None:
    rules = RuleSet(blocked=["qinjiang"], config={"qinjiang": {"meet_days": 3}})
    assert "qinjiang" not in [p.name for p in rules.plugins]
    assert "speedy_meet" not in rules.time_limits


def test_the_fingerprint_is_stable_and_independent_of_registration_order() -> None:
    one = RuleSet(BUILT_IN)
    two = RuleSet(list(reversed(BUILT_IN)))
    assert one.fingerprint == two.fingerprint
    assert len(one.fingerprint) == 64


def test_changing_a_plugins_config_changes_the_fingerprint() -> None:
    base = RuleSet(BUILT_IN).fingerprint
    changed = RuleSet(BUILT_IN, config={"zhijiang": {"satisfaction": {"threshold": 85}}}).fingerprint
    assert changed != base
    # The effective configuration counts: spelling out a default changes nothing.
    assert RuleSet(BUILT_IN, config={"zhijiang": {"satisfaction": {"threshold": 80}}}).fingerprint == base
    assert RuleSet(BUILT_IN, config={"national": {"collective_threshold": 6}}).fingerprint != base


def test_changing_a_plugins_version_changes_the_fingerprint() -> None:
    base = RuleSet(BUILT_IN).fingerprint
    bumped = [(n, copy_of(m, __version__="2021.99") if n == "zhijiang" else m) for n, m in BUILT_IN]
    assert RuleSet(bumped).fingerprint != base


def test_blocking_a_plugin_changes_the_fingerprint() -> None:
    assert RuleSet(BUILT_IN, blocked=["qinjiang"]).fingerprint != RuleSet(BUILT_IN).fingerprint


def test_a_plugin_without_version_takes_its_distributions_or_zero() -> None:
    rules = RuleSet([plugin("bare", version=None)])
    assert rules.plugins[0].version == "0"


# ── configuration ────────────────────────────────────────────────────────────


def test_an_unknown_configuration_key_is_refused_naming_the_plugin_and_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        RuleSet(BUILT_IN, config={"zhijiang": {"township": {"award": 1}}})
    assert error.value.code == "bad_plugin_config"
    assert error.value.details["plugin"] == "zhijiang"
    assert "规则插件「zhijiang」" in error.value.message
    assert "township" in error.value.message and "含有未知字段 award" in error.value.message


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"satisfaction": {"threshold": "八十"}}, ["satisfaction.threshold", "应为 int"]),
        ({"satisfaction": {"threshold": 120}}, ["satisfaction.threshold", "不能大于 100"]),
        ({"township": {"awards": {"三类": 1000}}}, ["township.awards", "三类"]),
        ({"village": {"criteria": [{"name": "无访", "kinds": ["上访"]}]}}, ["village.criteria[0].kinds[0]", "上访"]),
    ],
)
def test_a_bad_configuration_value_is_refused_naming_the_plugin_and_the_key(
    table: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ConfigError) as error:
        RuleSet(BUILT_IN, config={"zhijiang": table})
    assert "规则插件「zhijiang」的配置无效" in error.value.message
    for word in words:
        assert word in error.value.message


def test_configuring_a_plugin_that_is_not_installed_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        RuleSet(BUILT_IN, config={"zhijiangg": {}})
    assert error.value.code == "unknown_plugin"
    assert "zhijiangg" in error.value.message and "national" in error.value.message


def test_configuring_a_plugin_that_takes_no_configuration_is_refused() -> None:
    with pytest.raises(ConfigError, match="不接受配置"):
        RuleSet([plugin("plain")], config={"plain": {"x": 1}})


def test_the_rules_file_is_read_from_the_path_or_the_environment(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    path = tmp_path / "rules.toml"
    path.write_text('blocked = ["qinjiang"]\n\n[plugins.zhijiang.satisfaction]\nthreshold = 85\n', encoding="utf-8")
    rules = RuleSet.from_config(path, plugins=BUILT_IN)
    assert rules.source == str(path)
    assert rules.blocked == ["qinjiang"]
    assert rules.config_of("zhijiang").satisfaction.threshold == 85
    monkeypatch.setenv("XINFANG_RULES", str(path))
    assert RuleSet.from_config(plugins=BUILT_IN).fingerprint == rules.fingerprint
    monkeypatch.delenv("XINFANG_RULES")
    assert RuleSet.from_config(plugins=BUILT_IN).fingerprint == RuleSet(BUILT_IN).fingerprint


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("[plugin.zhijiang]\nx = 1\n", "bad_rules_file", "含有未知字段 plugin"),
        ("blocked = [\n", "bad_rules_file", "不是有效的 TOML"),
        ("blocked = 'qinjiang'\n", "bad_rules_file", "blocked"),
    ],
)
def test_a_malformed_rules_file_is_refused_with_its_path(tmp_path, text: str, code: str, words: str) -> None:  # noqa: ANN001
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        RuleSet.from_config(path, plugins=BUILT_IN)
    assert error.value.code == code
    assert str(path) in error.value.message and words in error.value.message


def test_a_missing_rules_file_is_named(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError) as error:
        RuleSet.from_config(tmp_path / "missing.toml", plugins=BUILT_IN)
    assert error.value.code == "rules_file_unreadable"


# ── plugins that are broken ──────────────────────────────────────────────────


def test_a_plugin_that_cannot_be_imported_is_named(monkeypatch) -> None:  # noqa: ANN001
    broken = metadata.EntryPoint(name="broken", value="no_such_module_for_xinfang", group="xinfang.plugins")
    monkeypatch.setattr(rules_module.metadata, "entry_points", lambda group: [broken])
    with pytest.raises(PluginFailure) as error:
        RuleSet()
    assert error.value.code == "plugin_load_failed"
    assert "规则插件「broken」无法加载" in error.value.message


def test_a_hook_function_without_the_marker_is_refused() -> None:
    def xinfang_awards(facts: Any) -> list[Any]:
        return []

    with pytest.raises(PluginFailure, match="「forgetful」的 xinfang_awards 没有加 @hookimpl"):
        RuleSet([plugin("forgetful", xinfang_awards=xinfang_awards)])


def test_an_implementation_of_a_hook_that_does_not_exist_is_refused() -> None:
    @hookimpl
    def xinfang_award(facts: Any) -> list[Any]:
        return []

    with pytest.raises(PluginFailure) as error:
        RuleSet([plugin("typo", xinfang_award=xinfang_award)])
    assert error.value.code == "plugin_invalid"
    assert "「typo」" in error.value.message and "xinfang_award" in error.value.message


def test_a_raising_plugin_is_named_with_its_hook() -> None:
    @hookimpl
    def xinfang_time_limits() -> list[TimeLimit]:
        raise ZeroDivisionError("division by zero")

    rules = RuleSet([("national", national), plugin("fragile", xinfang_time_limits=xinfang_time_limits)])
    with pytest.raises(PluginFailure) as error:
        rules.time_limits  # noqa: B018
    assert error.value.code == "plugin_raised"
    assert error.value.details == {"plugin": "fragile", "hook": "xinfang_time_limits"}
    assert "规则插件「fragile」在 xinfang_time_limits 中出错" in error.value.message
    assert "ZeroDivisionError" in error.value.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"decide": 30}, "dict（应为 TimeLimit 的列表）"),
        (["decide"], "列表中含有 str"),
        ([TimeLimit(step="x", label="x", days=1, day_type="natural", basis="x", starts="nowhere")],  # type: ignore[arg-type]
         "nowhere"),
    ],
)
def test_a_wrong_answer_is_named_with_its_hook(answer: Any, words: str) -> None:
    @hookimpl
    def xinfang_time_limits() -> Any:
        return answer

    rules = RuleSet([plugin("sloppy", xinfang_time_limits=xinfang_time_limits)])
    with pytest.raises(PluginFailure) as error:
        rules.time_limits  # noqa: B018
    assert error.value.code == "plugin_bad_answer"
    assert "规则插件「sloppy」的 xinfang_time_limits 返回了错误的类型" in error.value.message
    assert words in error.value.message


# ── hooks answered by the host ───────────────────────────────────────────────


def test_hook_time_limits_a_local_step_overrides_the_national_one() -> None:
    @hookimpl
    def xinfang_time_limits() -> list[TimeLimit]:
        return [TimeLimit(step="decide", label="出具处理意见", days=45, day_type="natural", basis="本县规定",
                          starts="accepted_on", stops=("decided_on",), extendable=True)]

    rules = RuleSet([("national", national), plugin("strict", xinfang_time_limits=xinfang_time_limits)])
    assert rules.limit("decide", date(2021, 3, 1)).days == 45  # type: ignore[union-attr]
    assert rules.limit("accept", date(2021, 3, 1)).days == 15  # type: ignore[union-attr]  # untouched steps stay national
    assert rules.due("decide", date(2021, 3, 1)) == date(2021, 4, 15)


def test_hook_time_limits_without_a_step_the_core_needs_is_a_clear_error() -> None:
    rules = RuleSet([("zhijiang", zhijiang)])
    with pytest.raises(ConfigError, match="没有「objection」期限"):
        rules.due("objection", date(2021, 3, 1))


def test_hook_calendar_loads_an_official_schedule_for_a_year_the_package_lacks() -> None:
    before = RuleSet([("national", national)])
    assert not before.calendar.is_known(date(2027, 1, 4))
    schedule = {"year": 2027, "basis": "国务院办公厅关于2027年部分节假日安排的通知",
                "holidays": [date(2027, 1, 1), date(2027, 1, 4)], "workdays": [date(2027, 1, 9)]}
    rules = RuleSet([("national", national)], config={"national": {"schedules": [schedule]}})
    assert rules.calendar.is_known(date(2027, 1, 4))
    assert not rules.calendar.is_workday(date(2027, 1, 4))  # a Monday off
    assert rules.calendar.is_workday(date(2027, 1, 9))  # a Saturday worked
    assert rules.fingerprint != before.fingerprint


def test_hook_calendar_a_local_schedule_wins_over_the_national_one() -> None:
    @hookimpl
    def xinfang_calendar() -> list[HolidaySchedule]:
        return [HolidaySchedule(year=2027, basis="本地", holidays=[date(2027, 1, 5)])]

    schedule = {"year": 2027, "basis": "国家", "holidays": [date(2027, 1, 4)]}
    rules = RuleSet([("national", national), plugin("local", xinfang_calendar=xinfang_calendar)],
                    config={"national": {"schedules": [schedule]}})
    assert rules.calendar.is_workday(date(2027, 1, 4))
    assert not rules.calendar.is_workday(date(2027, 1, 5))


def test_hook_calendar_an_inconsistent_schedule_is_named() -> None:
    @hookimpl
    def xinfang_calendar() -> list[HolidaySchedule]:
        return [HolidaySchedule(year=2027, basis="x", holidays=[date(2028, 1, 1)])]

    rules = RuleSet([plugin("careless", xinfang_calendar=xinfang_calendar)])
    with pytest.raises(PluginFailure, match="「careless」的 xinfang_calendar .*2027 年放假安排有误"):
        rules.calendar  # noqa: B018


def test_hook_case_flags_national_derives_collective_and_skip_level_flags() -> None:
    rules = RuleSet([("national", national)])
    assert rules.flags(a_case(persons=4)) == []
    assert rules.flags(a_case(persons=5)) == ["集体"]
    assert rules.flags(a_case(flags=("紧急",), persons=5)) == ["紧急", "集体"]
    assert rules.flags(a_case(), [incident(level="省")]) == ["越级"]
    assert rules.flags(a_case(flags=("越级",)), [incident(kind="非正常", level="京")]) == ["越级", "非正常"]
    assert rules.flags(a_case(), [incident(kind="集体", level="县", persons=3)]) == ["集体"]
    local = RuleSet([("national", national)], config={"national": {"collective_threshold": 10}})
    assert local.flags(a_case(persons=5)) == []


def test_hook_case_flags_an_unknown_flag_is_named() -> None:
    @hookimpl
    def xinfang_case_flags() -> list[str]:
        return ["群访"]

    rules = RuleSet([plugin("inventive", xinfang_case_flags=xinfang_case_flags)])
    with pytest.raises(PluginFailure, match="「inventive」的 xinfang_case_flags .*未知的标记 '群访'"):
        rules.flags(a_case())


def test_hook_check_command_reasons_name_their_plugin() -> None:
    @hookimpl
    def xinfang_check_command(event: Any, case: Any) -> list[str]:
        return ["本县不受理匿名来信"] if case is None else []

    from schemas.events import CaseAccepted, PetitionRegistered

    rules = RuleSet([("national", national), plugin("strict", xinfang_check_command=xinfang_check_command)])
    registration = PetitionRegistered(number="2021-000001", channel="来信", subject="s", home_township="town-a")
    assert rules.check(registration, None, date(2021, 3, 1)) == ["本县不受理匿名来信〔规则插件 strict〕"]
    assert rules.check(CaseAccepted(), a_case(), date(2021, 3, 1)) == []


def test_hook_time_limits_local_plugins_answer_in_name_order_whatever_the_registration_order() -> None:
    def limit_of(days: int) -> Any:
        @hookimpl
        def xinfang_time_limits() -> list[TimeLimit]:
            return [TimeLimit(step="decide", label="x", days=days, day_type="natural", basis="x",
                              starts="accepted_on", stops=("decided_on",))]

        return xinfang_time_limits

    alpha, beta = plugin("alpha", xinfang_time_limits=limit_of(40)), plugin("beta", xinfang_time_limits=limit_of(50))
    for order in ([alpha, beta, ("national", national)], [("national", national), beta, alpha]):
        assert RuleSet(order).limit("decide", date(2021, 3, 1)).days == 40  # type: ignore[union-attr]


# ── where a plugin's rules apply ─────────────────────────────────────────────

TREE = {
    "county": UnitRegistered(code="county", name="示范县", kind="县"),
    "town-a": UnitRegistered(code="town-a", name="甲镇", kind="乡镇", parent="county"),
    "village-a1": UnitRegistered(code="village-a1", name="甲镇一村", kind="村社区", parent="town-a"),
    "town-b": UnitRegistered(code="town-b", name="乙乡", kind="乡镇", parent="county"),
}


def _township_rule() -> tuple[str, Any]:
    @hookimpl
    def xinfang_check_command(event: Any) -> list[str]:
        return ["本镇规定：不支持的处理意见须写明理由"] if isinstance(event, DecisionIssued) and not event.note else []

    return plugin("township", LOCAL=True, xinfang_check_command=xinfang_check_command)


def test_a_local_plugin_checks_commands_in_the_units_it_names_and_below_only() -> None:
    rules = RuleSet([("national", national), _township_rule()], config={"township": {"units": ["town-a"]}})
    decision = DecisionIssued(outcome="不支持")
    for unit, refused in (("town-a", True), ("village-a1", True), ("town-b", False), ("county", False)):
        reasons = rules.check(decision, a_case(current_unit=unit), date(2021, 3, 1), units=TREE)
        assert bool(reasons) is refused, unit
    assert rules.plugins[1].config == {"units": ["town-a"]}
    assert rules.scope_of("township") == frozenset({"town-a"}) and rules.scope_of("national") is None


def test_a_local_plugin_without_units_applies_nowhere_and_its_units_change_the_fingerprint() -> None:
    nowhere = RuleSet([("national", national), _township_rule()])
    assert nowhere.check(DecisionIssued(outcome="不支持"), a_case(current_unit="town-a"), date(2021, 3, 1), units=TREE) == []
    town_a = RuleSet([("national", national), _township_rule()], config={"township": {"units": ["town-a"]}})
    town_b = RuleSet([("national", national), _township_rule()], config={"township": {"units": ["town-b"]}})
    assert len({nowhere.fingerprint, town_a.fingerprint, town_b.fingerprint}) == 3


def test_units_that_are_not_unit_codes_are_refused_with_the_plugin_named() -> None:
    with pytest.raises(ConfigError, match="「township」的适用单位（units）无效") as error:
        RuleSet([_township_rule()], config={"township": {"units": "town-a"}})
    assert error.value.code == "bad_plugin_config"


def test_hook_awards_a_verdict_that_is_not_judged_cannot_pass_or_award() -> None:
    from schemas.facts import Period, PeriodFacts
    from schemas.rules import AwardVerdict

    @hookimpl
    def xinfang_awards() -> list[AwardVerdict]:
        return [AwardVerdict(unit="town-a", name="甲镇", kind="乡镇", township_class=None, title="三无乡镇",
                             passed=True, amount=50_000, status="undetermined")]

    facts = PeriodFacts(period=Period(label="2021年", start=date(2021, 1, 1), end=date(2021, 12, 31)), as_of=None,
                        reference_day=date(2021, 12, 31), tree_size=0, rules_fingerprint="", units=[], cases=[],
                        incidents=[])
    rules = RuleSet([plugin("generous", xinfang_awards=xinfang_awards)])
    with pytest.raises(PluginFailure, match="「generous」的 xinfang_awards .*town-a「三无乡镇」为待定，不能通过或给予奖励"):
        rules.awards(facts)
