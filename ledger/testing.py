"""Test kit for rule-plugin authors: a pytest plugin, active wherever ``xinfang-ledger`` is installed.

The fixture ``xinfang_ledger`` makes a small ledger for a demo county (示范县: 甲镇 一类,
乙乡 二类, three villages, the 信访局 and one department) on a temporary SQLite file, under
the installed plugins with the configuration you give, and lets a test state what
happened in a few lines::

    def test_a_beijing_visit_costs_the_township_its_title(xinfang_ledger):
        county = xinfang_ledger({"zhijiang": {"satisfaction": {"threshold": 85}}})
        county.incident("village-a1", "2021-05-03", kind="非正常", level="京")
        report = county.awards("2021")
        town_a = county.verdict(report, "town-a", "三无乡镇")
        assert not town_a.passed and town_a.failures[0].incident == "I-1"

``xinfang_ledger(rules=None, *, blocked=(), plugins=None, url=None, units=DEMO_UNITS)``:
``rules`` is a mapping of plugin name to configuration table, or the path of a rules
file; ``plugins`` registers ``(name, module)`` pairs instead of the installed ones.
The server clock follows the business time of each command (pass ``recorded=`` to record
late, as a 补录 would), so ``as_of`` questions can be asked too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.rules import RuleSet
    from schemas.facts import PeriodFacts
    from schemas.rules import AwardReport, AwardVerdict, Clock, Finding, Indicator
    from schemas.views import CommandResult

DEMO_UNITS: list[dict[str, str]] = [
    {"code": "county", "name": "示范县", "kind": "县"},
    {"code": "xfj", "name": "示范县信访局", "kind": "部门", "parent": "county"},
    {"code": "dept-land", "name": "县自然资源局", "kind": "部门", "parent": "county"},
    {"code": "town-a", "name": "甲镇", "kind": "乡镇", "parent": "county", "township_class": "一类"},
    {"code": "town-b", "name": "乙乡", "kind": "乡镇", "parent": "county", "township_class": "二类"},
    {"code": "village-a1", "name": "甲镇一村", "kind": "村社区", "parent": "town-a"},
    {"code": "village-a2", "name": "甲镇二村", "kind": "村社区", "parent": "town-a"},
    {"code": "village-b1", "name": "乙乡一村", "kind": "村社区", "parent": "town-b"},
]
"""The demo county every kit ledger starts with (registered on 2020-12-01)."""

DEMO_OFFICIALS: list[dict[str, str]] = [
    {"code": "head-a", "name": "镇长甲", "unit": "town-a", "title": "镇长"},
]

When = str | date | datetime


def at(when: When) -> datetime:
    """A business time: ``"2021-05-03"`` (09:00 China time), an ISO time, a date or a datetime."""
    from ledger.domain.case import CHINA

    if isinstance(when, str):
        when = date.fromisoformat(when) if len(when) == 10 else datetime.fromisoformat(when)
    if not isinstance(when, datetime):
        return datetime.combine(when, time(9), CHINA)
    return when if when.tzinfo is not None else when.replace(tzinfo=CHINA)


class CountyLedger:
    """A real ledger (SQLite or PostgreSQL) with short ways to say what happened."""

    def __init__(self, url: str, rules: RuleSet, units: Iterable[Mapping[str, str]] = DEMO_UNITS) -> None:
        from ledger.application import Ledger
        from ledger.domain.case import CHINA
        from schemas.common import Actor

        self.now = datetime(2020, 1, 1, tzinfo=CHINA)
        self.ledger: Ledger = Ledger(url, rules=rules, clock=lambda: self.now)
        self.rules = rules
        self.actor = Actor(id="kit", unit="xfj", role="admin")
        self._ids = itertools.count(1)
        self._incidents = itertools.count(1)
        for unit in units:
            self.do("RegisterUnit", "2020-12-01", **unit)
        if any(u["code"] == "town-a" for u in units):
            for official in DEMO_OFFICIALS:
                self.do("RegisterOfficial", "2020-12-01", **official)

    # ── saying what happened ─────────────────────────────────────────────────

    def do(self, command: str, on: When, *, recorded: When | None = None, **fields: Any) -> CommandResult:
        """Run command ``command`` (a name from :mod:`schemas.commands`) that happened ``on``.

        It is recorded at the same moment, or at ``recorded`` (later) for a late entry.
        """
        from schemas.commands import COMMANDS_BY_NAME

        occurred = at(on)
        self.now = max(self.now, at(recorded) if recorded is not None else occurred)
        cmd = COMMANDS_BY_NAME[command](command_id=f"kit-{next(self._ids)}", occurred_at=occurred, **fields)
        return self.ledger.execute(cmd, self.actor)

    def petition(self, on: When, **fields: Any) -> str:
        """Register a petition (a visit by one person from 甲镇 by default); returns its number."""
        values = {"channel": "来访", "subject": "土地征收补偿", "home_township": "town-a", **fields}
        return self.do("RegisterPetition", on, **values).key

    def case(
        self,
        on: When,
        *,
        unit: str = "town-a",
        accepted: int | None = 1,
        investigated: int | None = None,
        decided: int | None = None,
        served: int | None = None,
        rated: Mapping[str, str] | None = None,
        concluded: int | None = None,
        **fields: Any,
    ) -> str:
        """Register a petition and take it as far as asked: forwarded to ``unit`` the next day, then
        accepted, investigated, decided, served (rated on that day) and concluded so many days
        after registration. Returns the case number."""
        start = at(on)
        number = self.petition(start, **fields)
        self.do("ForwardCase", start + timedelta(days=1), case=number, to_unit=unit)
        steps = [("AcceptCase", accepted, {}), ("RecordInvestigation", investigated, {"note": "上户见面，核实情况"}),
                 ("IssueDecision", decided, {"outcome": "支持"}), ("ServeDecision", served, {})]
        for name, days, extra in steps:
            if days is not None:
                self.do(name, start + timedelta(days=days), case=number, **extra)
        for party, rating in (rated or {}).items():
            self.rate(number, start + timedelta(days=served or decided or 0), party=party, rating=rating)
        if concluded is not None:
            self.do("ConcludeCase", start + timedelta(days=concluded), case=number)
        return number

    def rate(self, number: str, on: When, *, party: str = "责任单位", rating: str = "满意") -> None:
        self.do("RateSatisfaction", on, case=number, party=party, rating=rating)

    def incident(
        self, township: str, on: When, *, kind: str, level: str, persons: int = 1, case: str | None = None,
        recorded: When | None = None, village: str | None = None,
    ) -> str:
        """Record a 越级 / 集体 / 非正常 visit or 极端 incident attributed to ``township`` (and to the
        ``village`` of the people involved, when known); returns its id."""
        code = f"I-{next(self._incidents)}"
        self.do("RecordIncident", on, recorded=recorded, incident=code, kind=kind, level=level,
                persons=persons, township=township, case=case, village=village)
        return code

    # ── asking ───────────────────────────────────────────────────────────────

    def facts(self, period: str, as_of: When | None = None, *, rules: RuleSet | None = None) -> PeriodFacts:
        """The period's facts; under another rule set if ``rules`` is given (the same events, other rules)."""
        from ledger.facts import parse_period
        from ledger.projections.reports import Inputs, Snapshot
        from ledger.projections.runner import Projector

        snapshot = Snapshot(Projector.of(self.ledger), Inputs(period=parse_period(period), as_of=_as_of(as_of)))
        return snapshot.facts_under(rules or self.rules)

    def awards(self, period: str, as_of: When | None = None, *, rules: RuleSet | None = None) -> AwardReport:
        from ledger.awards import evaluate_awards

        return evaluate_awards(self.facts(period, as_of, rules=rules), rules or self.rules)

    def indicators(self, period: str, as_of: When | None = None, *, rules: RuleSet | None = None) -> list[Indicator]:
        return (rules or self.rules).indicators(self.facts(period, as_of, rules=rules))

    def findings(self, period: str, as_of: When | None = None, *, rules: RuleSet | None = None) -> list[Finding]:
        return (rules or self.rules).findings(self.facts(period, as_of, rules=rules))

    def clocks(self, number: str, today: When) -> list[Clock]:
        return self.ledger.case_view(number, today=at(today).date()).clocks

    @staticmethod
    def verdict(report: AwardReport, unit: str, title: str) -> AwardVerdict:
        """The verdict on ``unit`` for ``title`` in ``report``."""
        return next(v for v in report.verdicts if v.unit == unit and v.title == title)

    @property
    def tree_size(self) -> int:
        return self.ledger.recorder.tree_size()  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self.ledger.close()


def _as_of(when: When | None) -> datetime | None:
    if when is None:
        return None
    if isinstance(when, str) and len(when) == 10:
        from ledger.facts import parse_as_of

        return parse_as_of(when)
    return at(when)


def make_rules(
    rules: Mapping[str, Mapping[str, Any]] | str | Path | None = None,
    *,
    blocked: Iterable[str] = (),
    plugins: Iterable[tuple[str, object]] | None = None,
) -> RuleSet:
    """A rule set from a configuration mapping or a rules file (never from ``$XINFANG_RULES``)."""
    from ledger.rules import RuleSet

    if isinstance(rules, str | Path):
        return RuleSet.from_config(rules, blocked=blocked, plugins=plugins)
    return RuleSet(plugins, blocked=blocked, config=rules or {})


@pytest.fixture
def xinfang_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., CountyLedger]]:
    """Make a :class:`CountyLedger`: ``xinfang_ledger(rules=None, *, blocked=(), plugins=None, url=None)``."""
    made: list[CountyLedger] = []

    def make(
        rules: Mapping[str, Mapping[str, Any]] | str | Path | None = None,
        *,
        blocked: Iterable[str] = (),
        plugins: Iterable[tuple[str, object]] | None = None,
        url: str | None = None,
        units: Iterable[Mapping[str, str]] = DEMO_UNITS,
    ) -> CountyLedger:
        url = url or f"sqlite:///{tmp_path_factory.mktemp('xinfang')}/ledger.sqlite3"
        county = CountyLedger(url, make_rules(rules, blocked=blocked, plugins=plugins), units)
        made.append(county)
        return county

    yield make
    for county in made:
        county.close()
