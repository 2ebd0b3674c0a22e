"""A plugin that raises, answers wrongly or is misconfigured is named, and the ledger is unchanged."""

from __future__ import annotations

import types
from typing import Any

import pytest

from ledger.errors import ConfigError, PluginFailure, Refused
from ledger.hooks import hookimpl
from plugins import national, zhijiang
from schemas import events as ev
from schemas.commands import COMMANDS_BY_NAME
from support.county import ADMIN, START


def module(name: str, **hooks: Any) -> tuple[str, types.ModuleType]:
    plugin = types.ModuleType(name)
    plugin.__version__ = "0.1"  # type: ignore[attr-defined]
    for key, value in hooks.items():
        setattr(plugin, key, value)
    return name, plugin


@hookimpl
def _raise_on_decisions(event: ev.Event) -> list[str]:
    if isinstance(event, ev.DecisionIssued):
        raise KeyError("outcome_table")
    return []


@hookimpl
def _answer_a_string(event: ev.Event) -> Any:
    return "理由" if isinstance(event, ev.DecisionIssued) else []


def test_hook_check_command_a_raising_check_is_named_and_nothing_is_written(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    broken = module("broken", xinfang_check_command=_raise_on_decisions)
    county = xinfang_ledger(plugins=[("national", national), broken], url=database_url)
    number = county.case("2021-03-01")
    before = county.tree_size
    with pytest.raises(PluginFailure) as error:
        county.do("IssueDecision", "2021-03-20", case=number, outcome="支持")
    assert error.value.code == "plugin_raised"
    assert error.value.details["plugin"] == "broken"
    assert "规则插件「broken」在 xinfang_check_command 中出错：KeyError('outcome_table')" == error.value.message
    assert county.tree_size == before
    assert county.ledger.case(number).stage == "办理中"


def test_a_failing_check_in_a_batch_refuses_that_command_only(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    broken = module("broken", xinfang_check_command=_raise_on_decisions)
    county = xinfang_ledger(plugins=[("national", national), broken], url=database_url)
    number = county.case("2021-03-01")
    before = county.tree_size
    county.now = START.replace(day=21)
    commands = [
        COMMANDS_BY_NAME["RecordInvestigation"](command_id="b-1", occurred_at=START.replace(day=10), case=number,
                                                note="走访"),
        COMMANDS_BY_NAME["IssueDecision"](command_id="b-2", occurred_at=START.replace(day=20), case=number,
                                          outcome="支持"),
    ]
    outcomes = list(county.ledger.execute_many(commands, ADMIN))
    assert not isinstance(outcomes[0], Exception)
    assert isinstance(outcomes[1], PluginFailure) and outcomes[1].details["plugin"] == "broken"
    assert county.tree_size == before + 1


def test_a_check_answering_the_wrong_type_is_named_and_nothing_is_written(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    sloppy = module("sloppy", xinfang_check_command=_answer_a_string)
    county = xinfang_ledger(plugins=[("national", national), sloppy], url=database_url)
    number = county.case("2021-03-01")
    before = county.tree_size
    with pytest.raises(PluginFailure) as error:
        county.do("IssueDecision", "2021-03-20", case=number, outcome="支持")
    assert error.value.code == "plugin_bad_answer"
    assert "规则插件「sloppy」的 xinfang_check_command 返回了错误的类型：str（应为 str 的列表）" == error.value.message
    assert county.tree_size == before


def test_hook_check_command_national_refusal_reasons_must_name_the_earlier_item(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    earlier = county.case("2021-02-01")
    alone = county.case("2021-03-01", accepted=None)
    before = county.tree_size
    with pytest.raises(Refused) as refused:
        county.do("RefuseAcceptance", "2021-03-05", case=alone, reason="已经受理或者正在办理")
    assert refused.value.code == "plugin_rule"
    assert refused.value.message == (
        "以「已经受理或者正在办理」不予受理，须在登记时注明所重复的原信访事项（repeat_of）（《信访条例》第16条）〔规则插件 national〕"
    )
    assert county.tree_size == before
    county.do("RefuseAcceptance", "2021-03-05", case=alone, reason="不属于信访事项")  # other reasons stand alone
    repeat = county.case("2021-03-02", accepted=None, repeat_of=earlier)
    county.do("RefuseAcceptance", "2021-03-06", case=repeat, reason="已经受理或者正在办理")
    assert county.ledger.case(repeat).stage == "不予受理"


def test_a_raising_award_plugin_is_named_and_the_ledger_is_unchanged(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    @hookimpl
    def xinfang_awards(facts: Any) -> list[Any]:
        return [1 / len([u for u in facts.units if u.kind == "省"])]

    county = xinfang_ledger(plugins=[("national", national), module("fragile", xinfang_awards=xinfang_awards)],
                            url=database_url)
    county.incident("village-a1", "2021-05-03", kind="非正常", level="京")
    before = county.tree_size
    with pytest.raises(PluginFailure, match="规则插件「fragile」在 xinfang_awards 中出错：ZeroDivisionError"):
        county.awards("2021")
    assert county.tree_size == before


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ([{"unit": "town-a", "passed": True}], "列表中含有 dict"),
        (None, None),
    ],
)
def test_an_award_plugin_answering_the_wrong_type_is_named(database_url, xinfang_ledger, answer: Any, words: Any) -> None:  # noqa: ANN001
    @hookimpl
    def xinfang_awards() -> Any:
        return answer

    county = xinfang_ledger(plugins=[("national", national), ("zhijiang", zhijiang),
                                     module("odd", xinfang_awards=xinfang_awards)], url=database_url)
    if words is None:  # saying nothing is allowed
        assert county.awards("2021").verdicts
        return
    with pytest.raises(PluginFailure) as error:
        county.awards("2021")
    assert error.value.details == {"plugin": "odd", "hook": "xinfang_awards"}
    assert words in error.value.message


def test_an_invalid_configuration_is_named_before_anything_is_read_or_written(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    county.incident("village-a1", "2021-05-03", kind="非正常", level="京")
    before = county.tree_size
    with pytest.raises(ConfigError) as error:
        xinfang_ledger({"zhijiang": {"satisfaction": {"threshold": "high"}}}, url=database_url)
    assert error.value.details["plugin"] == "zhijiang"
    assert "satisfaction.threshold" in error.value.message
    assert county.tree_size == before
