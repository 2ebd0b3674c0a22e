"""示范县 2021：a year of 信访 work in a fictional county, written through the real command path.

``xinfang demo`` needs a ledger worth auditing and appraising: every channel, every step of
the case lifecycle, late steps, reviews, incidents for the 三无 contest, 督办, 三函一单,
accountability, 包案, receptions, a 积案 batch, disputes, corrections. Nothing is written
behind the ledger's back: each action becomes a command that the state machine, the
reference checks and the time checks accept — so a refusal means the generator is wrong,
and :func:`build_demo` stops with the ledger's reason.

How it works: the whole year is planned first, one chain of steps per aggregate (a case,
a dispute, a letter...). Each step has a business time (``occurred_at``) and a submission
time; :class:`EntryHabits` decides both, because units differ in how they get their work
into the ledger. All steps are then sorted by submission time and streamed into
:meth:`Ledger.execute_many`, while the ledger's clock reads the submission time of the
command it is deciding — so ``recorded_at`` is what a real server would have stamped. The
generator writes the way a migration does, as the history's own simulated clerks and handlers
straight into the command path: it is not a client, so it does not ask the access policy.

The figures follow the seed reports in spirit: about 45% of items arrive online and 25% by
visit; 信访部门 and 责任单位 are rated by about 96% / 92% of petitioners, 97% / 95%
satisfied; about 4% of items are repeats; disputes are resolved at about 95%; a 中央交办
backlog batch of about 34 items per 2000 is fully resolved by autumn, a second one half.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, and case numbers and
command ids are derived from the plan, so one seed always gives byte-identical ledgers.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from operator import attrgetter
from typing import Any

import msgspec

from ledger.application import Ledger
from ledger.bootstrap import bootstrap
from ledger.calendar import WorkingCalendar
from ledger.domain.case import CHINA, business_day
from ledger.errors import InvalidInput, LedgerError
from schemas.commands import AnyCommand, Command
from schemas.common import Actor
from schemas.views import DemoSummary

Progress = Callable[[Iterable[Any], int], Iterable[Any]]

# ── The calendar of the build ────────────────────────────────────────────────

YEAR = 2021
YEAR_START = datetime(YEAR, 1, 1, tzinfo=CHINA)
SETUP_DAY = date(2020, 12, 14)
FIRST_RECEIPT = date(YEAR, 1, 4)
LAST_RECEIPT = date(YEAR, 12, 30)
LAST_SUBMISSION = datetime(YEAR + 1, 1, 9, 18, 0, tzinfo=CHINA)
"""Nothing is submitted later, so an appraisal as of 2022-01-10 sees the whole ledger."""

RATING_WINDOW = timedelta(days=30)
"""Petitioners' rating window (a local parameter); after it the platform records 超期未评价."""

MIGRATION_BATCH = f"migration-{YEAR}-01"
"""The declared migration (and its import batch) of 人社局's January."""
MIGRATION_SOURCE = "人社局原信访台账系统"
MIGRATION_CUTOFF = datetime(YEAR, 2, 1, tzinfo=CHINA)
MIGRATION_AT = datetime(YEAR, 2, 1, 10, 0, tzinfo=CHINA)
MINUTE = timedelta(minutes=1)

# ── The county ───────────────────────────────────────────────────────────────

COUNTY = "county"
COUNTY_NAME = "示范县"

TOWNSHIPS: tuple[tuple[str, str, str, int], ...] = (
    ("town-01", "城关镇", "一类", 6),
    ("town-02", "东关镇", "一类", 5),
    ("town-03", "西河镇", "一类", 5),
    ("town-04", "南岭镇", "一类", 4),
    ("town-05", "青石镇", "一类", 4),
    ("town-06", "石桥镇", "一类", 4),
    ("town-07", "白沙乡", "二类", 4),
    ("town-08", "北坪乡", "二类", 3),
    ("town-09", "中和乡", "二类", 3),
    ("town-10", "双河乡", "二类", 3),
    ("town-11", "柳林乡", "二类", 3),
    ("town-12", "桃源乡", "二类", 3),
)
"""(code, name, class, villages). 一类 townships are larger and see more petitions."""

QUIET_TOWNSHIPS = ("town-02", "town-05", "town-09", "town-11")
"""No 越级, 集体 or 非正常 visits all year: the candidates for the 三无 title, of both classes."""

BACKDATING_UNIT = "town-07"
"""白沙乡 enters its actions 10–40 days after they happen, through the day's import batch, with their
true dates: an import is an ordinary entry, so an inspector finds every one as 补录."""

MIGRATED_UNIT = "dept-hrss"
"""人社局 kept January in its old system; the county administrator declares that month's migration and
imports it on 1 February, each step under the 人社局 official who did it: history, not 补录."""

DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("xfj", "示范县信访局", "局长"),
    ("lxb", "示范县信访工作联席会议办公室", "主任"),
    ("jw", "示范县纪委监委", "书记"),
    ("zfw", "示范县委政法委", "书记"),
    ("dept-land", "示范县自然资源局", "局长"),
    ("dept-housing", "示范县住房和城乡建设局", "局长"),
    ("dept-hrss", "示范县人力资源和社会保障局", "局长"),
    ("dept-civil", "示范县民政局", "局长"),
    ("dept-agri", "示范县农业农村局", "局长"),
    ("dept-edu", "示范县教育局", "局长"),
    ("dept-health", "示范县卫生健康局", "局长"),
    ("dept-police", "示范县公安局", "局长"),
    ("dept-market", "示范县市场监督管理局", "局长"),
)
HANDLING_DEPARTMENTS = tuple(code for code, _, _ in DEPARTMENTS if code.startswith("dept-"))
UNIT_NAMES = {code: name for code, name, _ in DEPARTMENTS} | {code: name for code, name, _, _ in TOWNSHIPS}
VILLAGES = {code: villages for code, _, _, villages in TOWNSHIPS}

COUNTY_LEADERS: tuple[tuple[str, str, str], ...] = (
    ("county-leader-1", "县领导一", "县委书记"),
    ("county-leader-2", "县领导二", "县长"),
    ("county-leader-3", "县领导三", "县委副书记"),
    ("county-leader-4", "县领导四", "县委常委、政法委书记"),
    ("county-leader-5", "县领导五", "常务副县长"),
    ("county-leader-6", "县领导六", "副县长（分管信访）"),
)

STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("xfj-clerk", "示范县信访局登记员", "xfj", "登记员"),
    ("xfj-duban", "示范县信访局督查督办员", "xfj", "督查督办员"),
    ("lxb-staff", "示范县联席办工作人员", "lxb", "工作人员"),
    ("jw-inspector", "示范县纪委监委纪检监察员", "jw", "纪检监察员"),
    ("county-reviewer", "示范县人民政府复查经办人", COUNTY, "复查经办人"),
)

ADMIN = Actor(id="county-admin", unit=COUNTY, role="admin")
CLERK = Actor(id="xfj-clerk", unit="xfj", role="clerk")
SUPERVISOR = Actor(id="xfj-duban", unit="xfj", role="clerk")
PLATFORM = Actor(id="xfj-platform", unit="xfj", role="system")
LIAISON = Actor(id="lxb-staff", unit="lxb", role="clerk")
INSPECTOR = Actor(id="jw-inspector", unit="jw", role="inspector")
REVIEWER = Actor(id="county-reviewer", unit=COUNTY, role="handler")


def handler(unit: str) -> Actor:
    """The 信访专干 of a township or department: accepts, investigates, decides, answers."""
    return Actor(id=f"{unit}-handler", unit=unit, role="handler")


def head(unit: str) -> str:
    """The head of ``unit``: approves its extensions, answers for it to the 纪委."""
    return f"{unit}-head"


def county_leader(code: str) -> Actor:
    return Actor(id=code, unit=COUNTY, role="leader")


# ── What petitions are about ─────────────────────────────────────────────────

SUBJECTS: tuple[tuple[str, str, int], ...] = (
    ("土地征收补偿", "dept-land", 8),
    ("宅基地纠纷", "township", 8),
    ("农村土地承包经营权", "dept-agri", 6),
    ("不动产登记办证", "dept-housing", 6),
    ("房屋质量问题", "dept-housing", 4),
    ("物业管理", "dept-housing", 3),
    ("拖欠农民工工资", "dept-hrss", 7),
    ("社会保险待遇", "dept-hrss", 4),
    ("最低生活保障", "dept-civil", 5),
    ("子女入学", "dept-edu", 3),
    ("教师待遇", "dept-edu", 2),
    ("医疗纠纷", "dept-health", 3),
    ("治安问题", "dept-police", 3),
    ("户籍办理", "dept-police", 2),
    ("食品安全", "dept-market", 2),
    ("消费维权", "dept-market", 2),
    ("村务公开", "township", 5),
    ("道路修建", "township", 4),
    ("环境污染", "township", 4),
    ("邻里纠纷", "township", 3),
    ("山林权属纠纷", "township", 3),
)
"""(subject, whose remit, weight): "township" means the petitioner's home township."""

CHANNELS = (("网上", 45), ("来访", 25), ("来信", 15), ("来电", 10), ("传真", 5))
REFUSAL_REASONS = (
    ("不属于信访事项", 30),
    ("已经或者依法应当通过诉讼仲裁复议解决", 35),
    ("超出本机关职权范围", 15),
    ("其他依法不予受理情形", 20),
)
OUTCOMES = (("支持", 30), ("解释说明", 50), ("不支持", 20))
SERVICE_METHODS = (("直接送达", 50), ("电子送达", 25), ("邮寄送达", 20), ("留置送达", 3), ("公告送达", 2))
RATINGS = (("信访部门", 0.96, 0.97), ("责任单位", 0.92, 0.95))
"""(party, participation, satisfaction): seed 000's 参评率 96% / 92% and 满意率 97% / 95%."""

STATUTORY_ROUTES = ("行政复议", "民事诉讼", "行政诉讼", "劳动人事争议仲裁")
INVESTIGATIONS = ("走访信访人，核实诉求", "调取相关档案资料", "召集相关方座谈了解情况", "实地查看现场")
DISPUTE_SUBJECTS = ("土地边界纠纷", "邻里纠纷", "婚姻家庭纠纷", "劳资纠纷", "山林权属纠纷", "工程款纠纷", "赡养纠纷")
LETTER_KINDS = (("督办单", 40), ("改进工作建议函", 30), ("风险提醒函", 20), ("问责建议函", 10))
OFFICIAL_MEASURES = (("党纪政务处分", 50), ("诫勉", 25), ("约谈", 15), ("组织处理", 10))


@dataclass(frozen=True)
class BacklogBatch:
    """A batch of 积案 listed by the 中央联席办 and which of the county's items it names."""

    code: str
    name: str
    listed: datetime
    share: float
    minimum: int
    received_between: tuple[date, date]
    solved_share: float


BACKLOG_BATCHES = (
    BacklogBatch("central-2021-1", "中央交办第一批", datetime(YEAR, 4, 20, 10, tzinfo=CHINA), 0.017, 3,
                 (FIRST_RECEIPT, date(YEAR, 3, 10)), 1.0),
    BacklogBatch("central-2021-2", "中央交办第二批", datetime(YEAR, 10, 15, 10, tzinfo=CHINA), 0.005, 2,
                 (date(YEAR, 6, 1), date(YEAR, 9, 10)), 0.5),
)
"""Seed 002: the first batch (34 items) all resolved by the end of September, the second half."""


# ── The plan ─────────────────────────────────────────────────────────────────


@dataclass
class Step:
    """One action: when it was meant to happen, who does it, the command; then its settled times."""

    planned: datetime
    actor: Actor
    name: str
    fields: dict[str, Any]
    occurred: datetime = field(init=False)
    submitted: datetime = field(init=False)
    batch: str | None = None
    migration: str | None = None
    """Imported by the administrator under the declared migration, as done by ``actor`` in the old system."""


@dataclass
class Intake:
    """One 信访事项 as it arrives, what its year holds (traits are dealt by quota), and its steps."""

    number: str
    received: datetime
    channel: str
    township: str
    subject: str
    unit: str
    petitioner: str
    persons: int = 1
    flags: list[str] = field(default_factory=list)
    accused: list[str] = field(default_factory=list)
    repeat_of: str | None = None
    traits: set[str] = field(default_factory=set)
    route_away: str | None = None
    """Not routed to a unit: 告知, 法定途径, or referred to 纪检监察 / 政法."""
    refusal: str | None = None
    incident: tuple[str, str] | None = None
    """(kind, destination level) of the visit that brought the item, when it counts against 三无."""
    backlog: BacklogBatch | None = None
    steps: list[Step] = field(default_factory=list)

    def step(self, name: str) -> Step | None:
        """The last settled step named ``name``, if the case got that far."""
        return next((s for s in reversed(self.steps) if s.name == name), None)


Move = tuple[datetime, Actor, str, dict[str, Any]]
"""A step of a case not yet placed: moves that may happen in any order are added by time."""


class CaseStory:
    """The steps of one case in the order the state machine accepts them."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.steps: list[Step] = []
        self.unit = intake.unit
        self.extension = 0

    @property
    def last(self) -> datetime:
        return self.steps[-1].planned

    def when(self, name: str) -> datetime:
        return next(s.planned for s in reversed(self.steps) if s.name == name)

    def version_of(self, name: str) -> int:
        return max(n for n, s in enumerate(self.steps, 1) if s.name == name)

    def add(self, at: datetime, actor: Actor, name: str, **fields: Any) -> None:
        if name != "RegisterPetition":
            fields = {"case": self.intake.number, **fields}
        self.steps.append(Step(at, actor, name, fields))

    def add_in_time_order(self, moves: list[Move]) -> None:
        for at, actor, name, fields in sorted(moves, key=lambda move: move[0]):
            self.add(at, actor, name, **fields)


class EntryHabits:
    """When each action reaches the ledger, given when it happened.

    Most units enter an action a few minutes after it happens, and cannot act on what
    someone else did before it is in the system — so their business time is pushed past the
    previous submission. 白沙乡 (the back-dating township) enters its actions 10–40 days
    late with their true dates, in a daily import batch. 人社局's January is imported in one sitting on
    1 February under the declared migration. Along a chain, business times never go back and submissions
    always move forward, which is what the ledger demands of a case.
    """

    def __init__(self, rng: random.Random, calendar: WorkingCalendar) -> None:
        self.rng = rng
        self.calendar = calendar

    def settle(self, chain: list[Step]) -> list[Step]:
        """Give every step its times; drop the tail that would be submitted after the build's end."""
        previous: Step | None = None
        for n, step in enumerate(chain):
            self._time(step, previous)
            if step.submitted > LAST_SUBMISSION:
                return chain[:n]
            previous = step
        return chain

    def _time(self, step: Step, previous: Step | None) -> None:
        earliest = step.planned if previous is None else max(step.planned, previous.occurred + MINUTE)
        if step.actor.unit == BACKDATING_UNIT:
            step.occurred, step.submitted = earliest, self._late_entry(earliest)
            step.batch = f"import-{BACKDATING_UNIT}-{step.submitted:%Y%m%d}"
        elif step.actor.unit == MIGRATED_UNIT and earliest < MIGRATION_CUTOFF:
            offset = (earliest - YEAR_START).total_seconds() // 1000
            step.occurred, step.submitted = earliest, MIGRATION_AT + timedelta(seconds=offset)
            step.batch = step.migration = MIGRATION_BATCH
        else:
            if previous is not None and previous.actor != step.actor:
                earliest = max(earliest, previous.submitted + MINUTE)
            step.occurred = earliest
            step.submitted = earliest + timedelta(minutes=self.rng.randint(2, 20))
        if previous is not None:
            step.submitted = max(step.submitted, previous.submitted + MINUTE)

    def _late_entry(self, moment: datetime) -> datetime:
        day = business_day(moment) + timedelta(days=self.rng.randint(10, 40))
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, time(8, 30), CHINA) + timedelta(minutes=self.rng.randrange(540))


class Planner:
    """Plans the county's year: every chain of steps, settled in time, ready to submit."""

    def __init__(self, cases: int, seed: int) -> None:
        self.cases = cases
        self.rng = random.Random(seed)
        self.calendar = WorkingCalendar()
        self.habits = EntryHabits(self.rng, self.calendar)
        self.workdays = [d for d in _days(FIRST_RECEIPT, LAST_RECEIPT) if self.calendar.is_workday(d)]

    # ── time ─────────────────────────────────────────────────────────────────

    def _office_time(self, day: date, after: datetime | None = None) -> datetime:
        """A moment in office hours on ``day``; later than ``after`` when that is the same day."""
        moment = datetime.combine(day, time(8, 30), CHINA) + timedelta(minutes=self.rng.randrange(540))
        if after is not None and moment <= after:
            moment = after + timedelta(minutes=self.rng.randint(5, 90))
        return moment

    def _after(self, moment: datetime, lo: int, hi: int) -> datetime:
        """Office work ``lo``–``hi`` days after ``moment``, on the first working day from then."""
        day = business_day(moment) + timedelta(days=self.rng.randint(lo, hi))
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return self._office_time(day, after=moment)

    def _petitioner_time(self, moment: datetime, lo: int, hi: int) -> datetime:
        """A petitioner acts any day of the week, 07:00–22:00."""
        day = business_day(moment) + timedelta(days=self.rng.randint(lo, hi))
        at = datetime.combine(day, time(7), CHINA) + timedelta(minutes=self.rng.randrange(900))
        return at if at > moment else moment + timedelta(minutes=self.rng.randint(5, 60))

    def _weighted(self, options: Iterable[tuple[Any, int]]) -> Any:
        values, weights = zip(*options, strict=True)
        return self.rng.choices(values, weights)[0]

    def _pick(self, pool: list[Intake], share: float, minimum: int, trait: str) -> list[Intake]:
        """Deal ``trait`` to ``share`` of all items (at least ``minimum``) drawn from ``pool``."""
        chosen = self.rng.sample(pool, min(len(pool), max(minimum, round(share * self.cases))))
        chosen.sort(key=attrgetter("number"))
        for intake in chosen:
            intake.traits.add(trait)
        return chosen

    # ── the year ─────────────────────────────────────────────────────────────

    def plan(self) -> tuple[list[list[Step]], dict[str, int]]:
        """Every chain of the year, settled; and the size of the county."""
        setup, size = self._setup()
        intakes = self._intakes()
        self._deal_traits(intakes)
        originals = [i for i in intakes if "repeat" not in i.traits]
        for intake in originals:
            intake.steps = self.habits.settle(self._case_steps(intake))
        for intake in intakes:
            if "repeat" in intake.traits:
                self._make_repeat(intake, originals)
                intake.steps = self.habits.settle(self._case_steps(intake))
        chains = [self.habits.settle(setup)] + [i.steps for i in intakes]
        chains += self._incidents(intakes)
        chains += self._disputes()
        chains += self._receptions()
        chains += self._backlog(intakes)
        chains += self._letters(intakes)
        chains += self._accountability(intakes)
        chains.append([self._migration_declared(sum(s.migration is not None for chain in chains for s in chain))])
        return chains, size

    @staticmethod
    def _migration_declared(expected: int) -> Step:
        """The administrator declares 人社局's January migration half an hour before importing it."""
        step = Step(MIGRATION_AT - 30 * MINUTE, ADMIN, "DeclareMigration", {
            "migration": MIGRATION_BATCH, "source": MIGRATION_SOURCE, "cutoff": MIGRATION_CUTOFF,
            "expected": expected, "note": "人社局2021年1月的信访事项办理记录"})
        step.occurred, step.submitted = step.planned, step.planned + 2 * MINUTE
        return step

    def _setup(self) -> tuple[list[Step], dict[str, int]]:
        """Units (parents first) and officials, registered in December 2020 as one chain."""
        units: list[dict[str, Any]] = [{"code": COUNTY, "name": COUNTY_NAME, "kind": "县"}]
        units += [{"code": c, "name": n, "kind": "部门", "parent": COUNTY} for c, n, _ in DEPARTMENTS]
        officials = [{"code": c, "name": n, "unit": COUNTY, "title": t} for c, n, t in COUNTY_LEADERS]
        officials += [{"code": c, "name": n, "unit": u, "title": t} for c, n, u, t in STAFF]
        for code, name, title in DEPARTMENTS:
            officials.append({"code": head(code), "name": f"{name}{title}", "unit": code, "title": title})
            if code in HANDLING_DEPARTMENTS:
                officials.append({"code": f"{code}-handler", "name": f"{name}信访专干", "unit": code, "title": "信访专干"})
        for code, name, klass, villages in TOWNSHIPS:
            units.append({"code": code, "name": name, "kind": "乡镇", "parent": COUNTY, "township_class": klass})
            stem, chief = name[:-1], "镇长" if name.endswith("镇") else "乡长"
            for n in range(villages):
                village = f"{stem}社区" if n == 0 and klass == "一类" else f"{stem}{'一二三四五六'[n]}村"
                units.append({"code": f"{code}-v{n + 1}", "name": village, "kind": "村社区", "parent": code})
            officials += [
                {"code": f"{code}-sec", "name": f"{name}党委书记", "unit": code, "title": "党委书记"},
                {"code": head(code), "name": f"{name}{chief}", "unit": code, "title": chief},
                {"code": f"{code}-handler", "name": f"{name}信访专干", "unit": code, "title": "信访专干"},
            ]
        start = datetime.combine(SETUP_DAY, time(9), CHINA)
        steps = [Step(start + n * MINUTE, ADMIN, "RegisterUnit", u) for n, u in enumerate(units)]
        start += timedelta(days=2)
        steps += [Step(start + n * MINUTE, ADMIN, "RegisterOfficial", o) for n, o in enumerate(officials)]
        return steps, {"units": len(units), "officials": len(officials)}

    def _intakes(self) -> list[Intake]:
        """Every item of the year, numbered in the order it was received."""
        towns = [(code, 3 if klass == "一类" else 2) for code, _, klass, _ in TOWNSHIPS]
        moments = sorted(self._office_time(self.rng.choice(self.workdays)) for _ in range(self.cases))
        intakes = []
        for n, moment in enumerate(moments, 1):
            township = self._weighted(towns)
            subject, remit = self._weighted(((s, r), w) for s, r, w in SUBJECTS)
            intakes.append(Intake(
                number=f"{YEAR}-{n:06d}", received=moment, channel=self._weighted(CHANNELS), township=township,
                subject=subject, unit=township if remit == "township" else remit, petitioner=f"P-{n:06d}",
            ))
        return intakes

    # ── dealing the year's events to items ───────────────────────────────────

    def _deal_traits(self, intakes: list[Intake]) -> None:
        """Choose, by quota, which items carry each rarer path, so even a small demo has them all."""
        self._pick([i for i in intakes if i.received.month >= 3], 0.04, 1, "repeat")
        originals = [i for i in intakes if "repeat" not in i.traits]
        self._flag_visits([i for i in originals if i.channel == "来访" and i.township not in QUIET_TOWNSHIPS])
        self._route_some_away([i for i in originals if not i.flags])
        routed = [i for i in originals if i.route_away is None]
        self._january_wage_claims([i for i in routed if not i.flags and i.received.date() < date(YEAR, 1, 25)])
        for intake in self._pick([i for i in routed if not i.flags and "wages" not in i.traits], 0.05, 1, "refuse"):
            intake.refusal = self._weighted(REFUSAL_REASONS)
        accepted = [i for i in routed if i.refusal is None]
        for n, intake in enumerate(self._pick(accepted, 0.02, 2, "objection")):
            if n == 0 or self.rng.random() < 0.6:
                intake.traits.add("objection_upheld")
        self._list_backlog(accepted)
        ordinary = [i for i in accepted if i.backlog is None]
        self._pick(routed, 0.03, 1, "late_route")
        self._pick(accepted, 0.05, 1, "late_accept")
        self._pick(accepted, 0.10, 1, "settlement")
        self._pick(accepted, 0.03, 1, "hearing")
        for n, intake in enumerate(self._pick(accepted, 0.06, 2, "supervision")):
            if n == 0 or self.rng.random() < 0.25:
                intake.traits.add("supervision_late")
        self._pick(ordinary, 0.03, 1, "leader")
        self._pick(ordinary, 0.03, 1, "extension")
        self._pick([i for i in ordinary if "extension" not in i.traits], 0.04, 1, "late_decision")
        self._deal_corrections(ordinary)
        self._deal_reviews(ordinary)
        self._pick([i for i in ordinary if i.received.month <= 9], 0.09, 2, "followup")

    def _flag_visits(self, visits: list[Intake]) -> None:
        """集体访, 越级访 and 非正常访, each with the incident it caused (never in a quiet township)."""
        collective = self._pick(visits, 0.025, 2, "collective")
        for n, intake in enumerate(collective):
            intake.persons, intake.flags = self.rng.randint(5, 40), ["集体"]
            if n == 0 or self.rng.random() < 0.3:
                intake.flags.append("越级")
                intake.incident = ("集体", self.rng.choice(("市", "省")))
        skipping = self._pick([i for i in visits if not i.flags], 0.015, 1, "skipping")
        for intake in skipping:
            intake.persons, intake.flags = self.rng.randint(1, 3), ["越级"]
            intake.incident = ("越级", self._weighted((("市", 6), ("省", 3), ("京", 1))))
        abnormal = self._pick([i for i in visits if not i.flags], 0.003, 1, "abnormal")
        for intake in abnormal:
            intake.persons, intake.flags = self.rng.randint(1, 2), ["非正常"]
            intake.incident = ("非正常", self._weighted((("京", 4), ("省", 1))))
        for intake in sorted(collective + skipping + abnormal, key=attrgetter("number")):
            intake.traits.add("assign")
            if self.rng.random() < 0.5:
                intake.traits.add("leader")

    def _route_some_away(self, plain: list[Intake]) -> None:
        """Items the 信访局 does not route to a unit: told where to go, sent to law, or referred."""
        for trait, share, how in (("redirect", 0.02, "告知"), ("statutory", 0.02, "法定途径"),
                                  ("report", 0.01, "纪检监察"), ("litigation", 0.005, "政法")):
            for intake in self._pick([i for i in plain if i.route_away is None], share, 1, trait):
                intake.route_away = how
                if how == "纪检监察":
                    intake.subject, intake.flags = "反映村干部违纪违法问题", ["检举"]
                    intake.accused = [f"{intake.township}-v1"]
                elif how == "政法":
                    intake.flags = ["涉法涉诉"]

    def _january_wage_claims(self, january: list[Intake]) -> None:
        """Wage claims peak before the Spring Festival; 人社局 handles them in its old system."""
        for intake in self._pick(january, 0.015, 3, "wages"):
            intake.subject, intake.unit = "拖欠农民工工资", MIGRATED_UNIT

    def _list_backlog(self, accepted: list[Intake]) -> None:
        """积案 come from items received well before their batch is listed; some stay open past the year."""
        for batch in BACKLOG_BATCHES:
            first, last = batch.received_between
            pool = [i for i in accepted if i.backlog is None and first <= i.received.date() <= last]
            listed = self._pick(pool, batch.share, batch.minimum, batch.code)
            solved = max(1, round(batch.solved_share * len(listed)))
            for n, intake in enumerate(listed):
                intake.backlog = batch
                if n >= solved:
                    intake.traits.add("stalled")

    def _deal_corrections(self, ordinary: list[Intake]) -> None:
        """A few entries corrected later: a mistyped channel, a decision's date."""
        pool = [i for i in ordinary if date(YEAR, 2, 15) <= i.received.date() <= date(YEAR, 10, 31)
                and i.unit not in (BACKDATING_UNIT, MIGRATED_UNIT)]
        for n, intake in enumerate(self._pick(pool, 0.005, 2, "correction")):
            intake.traits.add("correct_registration" if n % 2 == 0 else "correct_decision")

    def _deal_reviews(self, ordinary: list[Intake]) -> None:
        """复查 for about 5%, 复核 for about 1%, and 不再受理 after most 复核."""
        pool = [i for i in ordinary if date(YEAR, 2, 1) <= i.received.date() <= date(YEAR, 8, 31)
                and i.unit != BACKDATING_UNIT]
        reviewed = self._pick(pool, 0.05, 2, "review")
        rereviewed = self._pick([i for i in reviewed if i.received.date() <= date(YEAR, 7, 15)], 0.01, 1, "rereview")
        for n, intake in enumerate(rereviewed):
            if n == 0:
                intake.traits.add("rereview_hearing")
            if n == 0 or self.rng.random() < 0.75:
                intake.traits.add("bar")

    def _make_repeat(self, intake: Intake, originals: list[Intake]) -> None:
        """A 重复信访: the same petitioner on the same matter as an earlier, accepted item.

        While the earlier item is still open the repeat is refused as 已经受理或者正在办理; after
        its 复核 the repeat is refused (C22 art 36); otherwise it is handled afresh.
        """
        earlier = [o for o in originals if o.step("AcceptCase") and o.received <= intake.received - timedelta(days=7)]
        if not earlier:
            intake.traits.discard("repeat")
            return
        original = self.rng.choice(earlier)
        intake.repeat_of = original.number
        intake.township, intake.subject, intake.unit = original.township, original.subject, original.unit
        intake.petitioner = original.petitioner
        barred, concluded = original.step("BarFurtherPetitions"), original.step("ConcludeCase")
        if barred is not None and barred.planned < intake.received:
            intake.refusal = "信访人不服复核意见"
        elif barred is not None or concluded is None or concluded.planned >= intake.received:
            intake.refusal = "已经受理或者正在办理"
        elif self.rng.random() < 0.3:
            intake.traits.add("leader")

    # ── one case ─────────────────────────────────────────────────────────────

    def _case_steps(self, intake: Intake) -> list[Step]:
        """The case's whole life, as far as the year takes it."""
        story = CaseStory(intake)
        story.add(intake.received, CLERK, "RegisterPetition", number=intake.number, channel=intake.channel,
                  petitioners=[intake.petitioner], persons=intake.persons, subject=intake.subject,
                  summary=f"信访人反映{intake.subject}问题，请求依法处理", home_township=intake.township,
                  flags=intake.flags, repeat_of=intake.repeat_of, accused=intake.accused)
        if intake.route_away:
            self._route_away(story)
            return story.steps
        self._route(story)
        if "objection" in intake.traits:
            self._object(story)
        if intake.refusal:
            self._refuse(story)
            return story.steps
        self._accept(story)
        if "correct_registration" in intake.traits:
            self._correct(story, CLERK, 1, "登记时信访渠道录入有误，以原始登记材料为准")
        self._handle(story)
        self._decide(story)
        self._serve(story)
        served = story.last
        if "correct_decision" in intake.traits:
            decided = story.when("IssueDecision") - timedelta(days=1)
            self._correct(story, handler(story.unit), story.version_of("IssueDecision"),
                          "处理意见书落款日期录入有误，以书面处理意见书为准", decided)
        self._close(story, served)
        return story.steps

    def _route_away(self, story: CaseStory) -> None:
        intake = story.intake
        at = self._after(story.last, 0, 5)
        if intake.route_away == "告知":
            story.add(at, CLERK, "RedirectPetitioner", reason="诉求属村民自治事项，已告知信访人向村民委员会提出")
        elif intake.route_away == "法定途径":
            story.add(at, CLERK, "RouteToStatutoryChannel", route=self.rng.choice(STATUTORY_ROUTES),
                      note="诉求应通过法定途径解决，已书面告知信访人")
        elif intake.route_away == "纪检监察":
            story.add(at, CLERK, "ReferCase", authority="纪检监察", to_unit="jw", note="检举控告事项，转纪检监察机关")
        else:
            story.add(at, CLERK, "ReferCase", authority="政法", to_unit="zfw", note="涉法涉诉事项，转政法机关依法处理")
        story.add(self._after(at, 5, 20), CLERK, "ArchiveCase", note="已分流，材料归档")

    def _route(self, story: CaseStory) -> None:
        """转送 or 交办 within 15 days, a few late; an objection that will succeed starts at the wrong unit."""
        intake = story.intake
        if "late_route" in intake.traits:
            lo, hi = 16, 22
        else:
            lo, hi = (0, 2) if self.rng.random() < 0.7 else (3, 10)
        at = self._after(story.last, lo, hi)
        if "objection_upheld" in intake.traits:
            story.unit = "dept-agri" if intake.unit == intake.township else intake.township
        if "assign" in intake.traits or self.rng.random() < 0.25:
            due = business_day(at) + timedelta(days=self.rng.randint(45, 75))
            story.add(at, CLERK, "AssignCase", to_unit=story.unit, report_due=due, note="交办，限期报告办理结果")
        else:
            story.add(at, CLERK, "ForwardCase", to_unit=story.unit, note="转送有权处理机关")

    def _object(self, story: CaseStory) -> None:
        """管辖异议 within two days (inside the 5 working days), settled by the 信访局."""
        intake = story.intake
        objected = self._after(story.last, 1, 2)
        rightful = UNIT_NAMES[intake.unit]
        story.add(objected, handler(story.unit), "ObjectToJurisdiction",
                  reason=f"诉求涉及{intake.subject}，认为不属本单位职责")
        settled = self._after(objected, 1, 3)
        if "objection_upheld" in intake.traits:
            story.add(settled, CLERK, "ResolveJurisdictionObjection", ruling="异议成立", to_unit=intake.unit,
                      note=f"经审查属{rightful}职责，改由其办理")
            story.unit = intake.unit
        else:
            story.add(settled, CLERK, "ResolveJurisdictionObjection", ruling="异议不成立",
                      note="经审查属该单位职责，退回继续办理")

    def _refuse(self, story: CaseStory) -> None:
        refused = self._after(story.last, 3, 12)
        story.add(refused, handler(story.unit), "RefuseAcceptance", reason=story.intake.refusal,
                  note="已书面告知信访人不予受理及理由")
        story.add(self._after(refused, 10, 30), CLERK, "ArchiveCase", note="不予受理，材料归档")

    def _accept(self, story: CaseStory) -> None:
        lo, hi = (16, 28) if "late_accept" in story.intake.traits else (1, 10)
        story.add(self._after(story.last, lo, hi), handler(story.unit), "AcceptCase", note="受理并书面告知信访人")

    def _handle(self, story: CaseStory) -> None:
        """办理: investigations and whatever else this case's traits hold, in time order."""
        intake, unit = story.intake, story.unit
        accepted, worker = story.last, handler(unit)
        moves: list[Move] = []
        for _ in range(1 + (self.rng.random() < 0.4)):
            moves.append((self._after(accepted, 2, 25), worker, "RecordInvestigation",
                          {"note": self.rng.choice(INVESTIGATIONS)}))
        if "settlement" in intake.traits:
            kind = self._weighted((("调解", 7), ("和解", 3)))
            moves.append((self._after(accepted, 10, 40), worker, "RecordSettlement",
                          {"kind": kind, "note": f"双方达成{kind}协议"}))
        if "hearing" in intake.traits:
            opened = self._after(accepted, 12, 25)
            moves.append((opened, worker, "StartHearing", {"note": "组织听证"}))
            moves.append((self._after(opened, 0, 3), worker, "EndHearing", {"note": "听证结束"}))
        if "supervision" in intake.traits:
            moves += self._supervision(story, accepted)
        if "leader" in intake.traits:
            moves.append((self._after(accepted, 1, 10), *self._leader_for(intake)))
        if intake.backlog is not None:
            code = COUNTY_LEADERS[int(intake.number[-6:]) % len(COUNTY_LEADERS)][0]
            owned = self._after(max(accepted, intake.backlog.listed), 2, 7)
            moves.append((owned, county_leader(code), "AssignLeader",
                          {"leader": code, "note": f"{intake.backlog.name}积案，县级领导包案化解"}))
        if "extension" in intake.traits:
            story.extension = self.rng.randint(15, 30)
            moves.append((self._after(accepted, 45, 55), worker, "ExtendDeadline",
                          {"days": story.extension, "approved_by": head(unit), "petitioner_notified": True,
                           "note": "案情复杂，经负责人批准延期并告知信访人"}))
        story.add_in_time_order(moves)

    def _supervision(self, story: CaseStory, accepted: datetime) -> list[Move]:
        """A 督办 by the 信访局 with a 15-day reply deadline, answered in time or late."""
        order = f"DB-{story.intake.number}"
        ordered = self._after(accepted, 10, 25)
        lo, hi = (17, 25) if "supervision_late" in story.intake.traits else (3, 12)
        return [
            (ordered, SUPERVISOR, "OrderSupervision", {"order": order, "to_unit": story.unit,
             "reply_due": business_day(ordered) + timedelta(days=15), "note": "请按期报告办理进展"}),
            (self._after(ordered, lo, hi), handler(story.unit), "AnswerSupervision",
             {"order": order, "note": "已书面报告办理进展"}),
        ]

    def _leader_for(self, intake: Intake) -> tuple[Actor, str, dict[str, Any]]:
        """Township items go to the township's party secretary, county departments' to a county leader."""
        if intake.unit == intake.township:
            code = f"{intake.township}-sec"
            actor = Actor(id=code, unit=intake.township, role="leader")
        else:
            code = self.rng.choice(COUNTY_LEADERS)[0]
            actor = county_leader(code)
        return actor, "AssignLeader", {"leader": code, "note": "领导包案，亲自协调化解"}

    def _decide(self, story: CaseStory) -> None:
        """处理意见 within 60 days of 受理 for most; late, extended or held for 积案 for some."""
        intake = story.intake
        accepted = story.when("AcceptCase")
        if intake.backlog is not None:
            lo, hi = (100, 130) if "stalled" in intake.traits else (15, 45)
            target = self._after(story.when("AssignLeader"), lo, hi)
        elif story.extension:
            target = self._after(accepted, 61, 59 + story.extension)
        elif "late_decision" in intake.traits:
            target = self._after(accepted, 62, 80)
        else:
            target = self._after(accepted, 20, 55)
        at = target if target > story.last else self._after(story.last, 1, 3)
        outcomes = OUTCOMES if "review" not in intake.traits else (("解释说明", 1), ("不支持", 1))
        story.add(at, handler(story.unit), "IssueDecision", outcome=self._weighted(outcomes), note="出具书面处理意见")

    def _serve(self, story: CaseStory) -> None:
        method = self._weighted(SERVICE_METHODS)
        story.add(self._after(story.last, 1, 5), handler(story.unit), "ServeDecision", method=method,
                  receipt="拒收" if method == "留置送达" else "签收")

    def _correct(self, story: CaseStory, actor: Actor, version: int, reason: str,
                 occurred: datetime | None = None) -> None:
        fields: dict[str, Any] = {"corrects_version": version, "reason": reason}
        if occurred is not None:
            fields["corrected_occurred_at"] = occurred
        story.add(self._after(story.last, 0, 3), actor, "CorrectEvent", **fields)

    def _close(self, story: CaseStory, served: datetime) -> None:
        """办结 once the decision is served, 审核认定; then the ratings (or their expiry) and any
        复查/复核, which reopen the case until it is concluded again; 回访 for some; 归档 after the
        rating window. 不再受理 comes after every rating, since nothing but closing may follow it."""
        intake, worker = story.intake, handler(story.unit)
        story.add(self._after(story.last, 0, 3), worker, "ConcludeCase", note="处理意见已送达，办结")
        reviewed = "review" in intake.traits
        if not reviewed:
            self._certify(story)
        moves = self._ratings(served)
        if reviewed:
            moves += self._reviews(intake, served)
        story.add_in_time_order(moves)
        if "bar" in intake.traits:
            story.add(self._after(story.last, 1, 5), CLERK, "BarFurtherPetitions", note="复核终结，同一事实和理由不再受理")
        if reviewed:
            story.add(self._after(story.last, 1, 5), worker, "ConcludeCase", note="复查复核程序终结，办结")
            self._certify(story)
        if "followup" in intake.traits:
            story.add(self._after(story.last, 3, 20), CLERK, "RecordFollowUp", **self._follow_up())
        if self.rng.random() < 0.9:
            story.add(self._after(max(story.last, served + RATING_WINDOW), 5, 30), CLERK, "ArchiveCase", note="归档")

    def _certify(self, story: CaseStory) -> None:
        if self.rng.random() < 0.95:
            story.add(self._after(story.last, 1, 10), CLERK, "CertifyConclusion", note="审核认定办结")

    def _ratings(self, served: datetime) -> list[Move]:
        """Each party rated through the platform within the window, or 超期未评价 when it closes."""
        moves: list[Move] = []
        for party, participation, satisfaction in RATINGS:
            if self.rng.random() < participation:
                if self.rng.random() < satisfaction:
                    rating = "满意" if self.rng.random() < 0.8 else "基本满意"
                else:
                    rating = "不满意"
                moves.append((self._petitioner_time(served, 1, 20), PLATFORM, "RateSatisfaction",
                              {"party": party, "rating": rating}))
            else:
                closes = datetime.combine(business_day(served) + RATING_WINDOW + timedelta(days=1), time(0, 10), CHINA)
                moves.append((closes + self.rng.randint(0, 30) * MINUTE, PLATFORM, "ExpireRating",
                              {"party": party}))
        return moves

    def _reviews(self, intake: Intake, served: datetime) -> list[Move]:
        """复查 by the county government; 复核 by the city, recorded by the 信访局."""
        requested = self._petitioner_time(served, 5, 25)
        decided = self._after(requested, 10, 26)
        moves = [
            (requested, CLERK, "RequestReview", {"note": "信访人不服处理意见，申请复查"}),
            (decided, REVIEWER, "DecideReview", {"outcome": "不支持", "note": "复查维持原处理意见"}),
        ]
        if "rereview" not in intake.traits:
            return moves
        asked = self._petitioner_time(decided, 5, 25)
        moves.append((asked, CLERK, "RequestReReview", {"note": "信访人不服复查意见，申请复核"}))
        if "rereview_hearing" in intake.traits:
            opened = self._after(asked, 3, 8)
            asked = self._after(opened, 0, 2)
            moves.append((opened, CLERK, "StartHearing", {"note": "复核机关组织听证"}))
            moves.append((asked, CLERK, "EndHearing", {"note": "复核听证结束"}))
        moves.append((self._after(asked, 10, 26), CLERK, "DecideReReview", {"outcome": "不支持", "note": "复核维持复查意见"}))
        return moves

    def _follow_up(self) -> dict[str, Any]:
        """回访核实 (seed 002: 159 called, 131 reached); an unsatisfied one is checked on site."""
        if self.rng.random() >= 0.82:
            return {"reached": False, "note": "电话回访未接通"}
        verified = self.rng.random() < 0.9
        note = "电话回访，信访人表示满意" if verified else "信访人不满意，已上门核实并责令整改"
        return {"reached": True, "satisfaction_verified": verified, "onsite_check": not verified,
                "rectification_ordered": not verified, "note": note}

    # ── around the cases ─────────────────────────────────────────────────────

    def _incidents(self, intakes: list[Intake]) -> list[list[Step]]:
        """Each flagged visit's incident, learnt when the item is transferred back; plus a few
        非正常访 in Beijing reported by phone, with no item behind them."""
        chains = []
        for intake in intakes:
            if intake.incident is None:
                continue
            kind, level = intake.incident
            visit = datetime.combine(business_day(intake.received) - timedelta(days=self.rng.randint(1, 4)),
                                     time(9), CHINA) + timedelta(minutes=self.rng.randrange(420))
            step = Step(visit, CLERK, "RecordIncident", {
                "incident": f"SJ-{YEAR}-{len(chains) + 1:04d}", "kind": kind, "level": level,
                "persons": intake.persons, "township": intake.township, "case": intake.number,
                "village": f"{intake.township}-v{1 + int(intake.number[-4:]) % VILLAGES[intake.township]}",
                "note": f"到{level}{kind}访，已转回属地"})
            step.occurred = visit
            step.submitted = intake.steps[0].submitted + timedelta(minutes=self.rng.randint(5, 40))
            chains.append([step])
        restless = [code for code, _, _, _ in TOWNSHIPS if code not in QUIET_TOWNSHIPS]
        for _ in range(max(1, round(0.002 * self.cases))):
            stopped = self._office_time(self.rng.choice(self.workdays[:-5]))
            step = Step(stopped, CLERK, "RecordIncident", {
                "incident": f"SJ-{YEAR}-{len(chains) + 1:04d}", "kind": "非正常", "level": "京",
                "persons": self.rng.randint(1, 2), "township": self.rng.choice(restless),
                "note": "在京非接待场所滞留，已劝返；当事人所在村未查清"})
            step.occurred = stopped
            step.submitted = stopped + timedelta(minutes=self.rng.randint(60, 180))
            chains.append([step])
        return chains

    def _disputes(self) -> list[list[Step]]:
        """矛盾纠纷排查: found by the townships, mediated, resolved (seed 002: 225 found, 95.1%)."""
        towns = [(code, 3 if klass == "一类" else 2) for code, _, klass, _ in TOWNSHIPS]
        last_found = self.workdays.index(next(d for d in self.workdays if d >= date(YEAR, 11, 30)))
        chains = []
        for n in range(1, max(8, round(self.cases * 225 / 2000)) + 1):
            township, code = self._weighted(towns), f"MD-{YEAR}-{n:04d}"
            worker = handler(township)
            found = self._office_time(self.rng.choice(self.workdays[:last_found]))
            chain = [Step(found, worker, "RecordDispute", {"dispute": code, "township": township,
                          "subject": self.rng.choice(DISPUTE_SUBJECTS), "note": "网格员排查上报"})]
            if self.rng.random() < 0.98:
                mediated = self._after(found, 1, 15)
                chain.append(Step(mediated, worker, "MediateDispute", {"dispute": code, "note": "组织调解"}))
                if self.rng.random() < 0.97:
                    chain.append(Step(self._after(mediated, 3, 30), worker, "ResolveDispute",
                                      {"dispute": code, "note": "纠纷化解，双方签订协议"}))
            chains.append(self.habits.settle(chain))
        return chains

    def _receptions(self) -> list[list[Step]]:
        """County leaders' 坐班接访 in rotation (seed 002: 385 批次, 1360 人次, 169 answered on the spot)."""
        count = max(6, round(self.cases * 96 / 2000))
        chains = []
        for n in range(count):
            code = COUNTY_LEADERS[n % len(COUNTY_LEADERS)][0]
            day = self.workdays[n * len(self.workdays) // count]
            batches = self.rng.randint(2, 6)
            answered = sum(self.rng.random() < 0.44 for _ in range(batches))
            at = datetime.combine(day, time(9), CHINA) + timedelta(minutes=self.rng.randrange(150))
            chains.append(self.habits.settle([Step(at, county_leader(code), "HoldLeaderReception", {
                "session": f"JF-{YEAR}-{n + 1:03d}", "leader": code, "unit": COUNTY, "batches": batches,
                "persons": sum(self.rng.randint(1, 6) for _ in range(batches)),
                "answered_on_spot": answered, "referred": batches - answered})]))
        return chains

    def _backlog(self, intakes: list[Intake]) -> list[list[Step]]:
        """Each 积案 batch as listed, and each item resolved a few days after its decision is served."""
        chains = []
        for batch in BACKLOG_BATCHES:
            listed = [i for i in intakes if i.backlog is batch]
            if not listed:
                continue
            chain = [Step(batch.listed, LIAISON, "ListBacklogBatch",
                          {"batch": batch.code, "name": batch.name, "cases": [i.number for i in listed]})]
            resolved = []
            for intake in listed:
                served = intake.step("ServeDecision")
                if served is not None:
                    resolved.append(Step(self._after(served.submitted, 2, 10), LIAISON, "ResolveBacklogCase",
                                         {"batch": batch.code, "case": intake.number, "note": "已化解，上报销号"}))
            chains.append(self.habits.settle(chain + sorted(resolved, key=attrgetter("planned"))))
        return chains

    def _letters(self, intakes: list[Intake]) -> list[list[Step]]:
        """三函一单 from the 联席办 to units handling items, answered in time, late, or not at all."""
        handled = [(i, accepted) for i in intakes if (accepted := i.step("AcceptCase")) is not None]
        count = max(4, round(self.cases / 100))
        chains = []
        for n in range(count):
            issued = self._after(datetime(YEAR, 3, 1, 9, tzinfo=CHINA) + timedelta(days=n * 270 // count), 0, 2)
            known = [(i.number, accepted.actor.unit) for i, accepted in handled
                     if accepted.occurred < issued - timedelta(days=5)]
            if not known:
                continue
            unit = self.rng.choice(known)[1]
            mine = [number for number, u in known if u == unit]
            cases = sorted(self.rng.sample(mine, min(len(mine), self.rng.randint(1, 3))))
            kind = LETTER_KINDS[n][0] if n < len(LETTER_KINDS) else self._weighted(LETTER_KINDS)
            letter = f"HAN-{YEAR}-{n + 1:03d}"
            chain = [Step(issued, LIAISON, "IssueRecommendation", {
                "letter": letter, "kind": kind, "to_unit": unit, "cases": cases,
                "reply_due": business_day(issued) + timedelta(days=30), "note": f"就{len(cases)}件信访事项发出{kind}"})]
            answer = self.rng.random()
            if answer < 0.95:
                lo, hi = (5, 25) if answer < 0.8 else (32, 45)
                chain.append(Step(self._after(issued, lo, hi), handler(unit), "AnswerRecommendation",
                                  {"letter": letter, "note": "已书面答复并落实整改"}))
            chains.append(self.habits.settle(chain))
        return chains

    def _accountability(self, intakes: list[Intake]) -> list[list[Step]]:
        """问责 by the 纪委 in November and December: the back-dating township and the units with the
        most late steps are circulated; officials of late units are disciplined (seed 002: 7 and 8)."""
        late = _late_cases(intakes)
        backdated = [i.number for i in intakes
                     if i.received.month < 11 and any(s.actor.unit == BACKDATING_UNIT for s in i.steps)]
        ranked = sorted((u for u in late if u != BACKDATING_UNIT), key=lambda u: (-len(late[u]), u))
        decisions: list[dict[str, Any]] = []
        if backdated:
            decisions.append({"measure": "通报批评", "unit": BACKDATING_UNIT, "cases": backdated[:5],
                              "grounds": "信访事项办理记录长期事后补录，记录时间与实际办理时间严重不符（弄虚作假）"})
        for unit in ranked[: max(2, round(self.cases * 7 / 2000)) - 1]:
            decisions.append({"measure": "通报批评", "unit": unit, "cases": late[unit][:5],
                              "grounds": "信访事项超期受理、超期办理，推诿拖延"})
        for n, unit in enumerate(ranked[: max(2, round(self.cases * 8 / 2000))]):
            official = f"{unit}-handler" if n % 2 == 0 else head(unit)
            decisions.append({"measure": self._weighted(OFFICIAL_MEASURES), "official": official,
                              "cases": late[unit][:3], "grounds": "对信访事项推诿、敷衍、拖延，致超期办理"})
        chains = []
        for n, decision in enumerate(decisions):
            at = self._after(datetime(YEAR, 11, 1, 9, tzinfo=CHINA) + timedelta(days=3 * n), 0, 1)
            chains.append(self.habits.settle([Step(at, INSPECTOR, "DecideAccountability",
                                                   {"decision": f"WZ-{YEAR}-{n + 1:03d}", **decision})]))
        return chains


def _days(first: date, last: date) -> Iterator[date]:
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _late_cases(intakes: list[Intake]) -> dict[str, list[str]]:
    """Items each unit handled late, as settled (acceptance after 15 days, decision after 60 plus
    any extension, 督办 answered after its deadline), registered before November."""
    late: dict[str, list[str]] = {}
    for intake in (i for i in intakes if i.received.month < 11):
        times = {s.name: s for s in intake.steps}
        rerouted = times.get("ResolveJurisdictionObjection")
        if rerouted is not None and rerouted.fields["ruling"] == "异议成立":
            routed: Step | None = rerouted
        else:
            routed = times.get("AssignCase") or times.get("ForwardCase")
        accepted, decided = times.get("AcceptCase"), times.get("IssueDecision")
        extended = times.get("ExtendDeadline")
        answered, ordered = times.get("AnswerSupervision"), times.get("OrderSupervision")
        misses = []
        if routed and accepted and _days_between(routed, accepted) > 15:
            misses.append(accepted)
        allowed = 60 + (extended.fields["days"] if extended else 0)
        if accepted and decided and _days_between(accepted, decided) > allowed:
            misses.append(decided)
        if answered and ordered and business_day(answered.occurred) > ordered.fields["reply_due"]:
            misses.append(answered)
        for step in misses:
            numbers = late.setdefault(step.actor.unit, [])
            if intake.number not in numbers:
                numbers.append(intake.number)
    return late


def _days_between(earlier: Step, later: Step) -> int:
    return (business_day(later.occurred) - business_day(earlier.occurred)).days


# ── Submitting ───────────────────────────────────────────────────────────────


class SimulatedClock:
    """The ledger's clock during the build: the submission time of the run being saved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Submission:
    """A settled step with its command, in the order the ledger receives it."""

    step: Step
    command: Command

    @property
    def run(self) -> tuple[Actor, str | None, str | None, datetime]:
        """Entries are saved together when the same actor submits them within the same hour (the
        administrator imports a migration)."""
        step = self.step
        return (ADMIN if step.migration else step.actor, step.batch, step.migration,
                step.submitted.replace(minute=0, second=0, microsecond=0))


def _submissions(chains: list[list[Step]], seed: int) -> list[Submission]:
    """Every step as a validated command, numbered in submission order."""
    steps = sorted((step for chain in chains for step in chain), key=attrgetter("submitted"))
    return [
        Submission(step, msgspec.convert({"type": step.name, "command_id": f"demo-{seed}-{n:07d}",
                                          "occurred_at": step.occurred, **step.fields, **_source(step)}, AnyCommand))
        for n, step in enumerate(steps, 1)
    ]


def _source(step: Step) -> dict[str, Any]:
    """A migrated step names the official who did it in the old system."""
    return {"original_actor": {"official": step.actor.id, "unit": step.actor.unit}} if step.migration else {}


def _submit(ledger: Ledger, clock: SimulatedClock, submissions: list[Submission], progress: Progress) -> Counter[str]:
    """Stream everything through ``execute_many``, one call per run of the same actor and batch."""
    written: Counter[str] = Counter()
    for (actor, batch, migration, _), group in groupby(progress(submissions, len(submissions)), key=attrgetter("run")):
        run = list(group)
        clock.now = run[-1].step.submitted  # a run is saved when its last entry is submitted
        outcomes = ledger.execute_many([s.command for s in run], actor, batch=batch, migration=migration, chunk=500)
        for submission, outcome in zip(run, outcomes, strict=True):
            if isinstance(outcome, LedgerError):
                raise RuntimeError(
                    f"演示数据生成有误：命令 {submission.command.command_id}（{submission.step.name}，"
                    f"{actor.id}）被拒绝：{outcome.message}（{outcome.code}）"
                )
            written[outcome.event_type] += 1
    return written


def build_demo(url: str | None, *, cases: int, seed: int, progress: Progress,
               rules_file: str | None = None) -> DemoSummary:
    """Build 示范县's 2021 in the (empty) ledger at ``url``; the same seed gives the same ledger.

    Returns a summary: events written by type, items, units, officials, and ``refused`` (always
    0 — a refused command is a bug here and raises with the ledger's reason).
    """
    if cases < 1:
        raise InvalidInput("信访事项数量至少为 1", code="invalid_demo_size")
    chains, size = Planner(cases, seed).plan()
    submissions = _submissions(chains, seed)
    clock = SimulatedClock(submissions[0].step.submitted)
    with bootstrap(url, rules_file=rules_file, clock=clock) as services:
        existing = services.ledger.recorder.tree_size()  # type: ignore[attr-defined]
        if existing:
            raise InvalidInput(
                f"演示账本须建在空账本上：该数据库已有 {existing} 条事件，请换一个数据库地址", code="ledger_not_empty"
            )
        written = _submit(services.ledger, clock, submissions, progress)
    last = submissions[-1].step.submitted
    return DemoSummary(
        events=sum(written.values()),
        cases=written["PetitionRegistered"],
        units=size["units"],
        officials=size["officials"],
        refused=0,
        seed=seed,
        year=YEAR,
        backdating_unit=BACKDATING_UNIT,
        migration_batch=MIGRATION_BATCH,
        last_recorded_at=last.isoformat(),
        by_type=dict(sorted(written.items())),
    )
