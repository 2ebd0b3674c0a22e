"""The ledger application: commands in, events out, views back.

One eventsourcing :class:`Application`. A command is decided against the current
state of its aggregate (and the rules), becomes exactly one event, and is saved
together with its idempotency receipt in one transaction — or refused with a
reason. Methods return ids and views, never aggregates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from itertools import groupby, islice
from operator import attrgetter
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger.codec import EnvelopeMapper
from ledger.config import database_url, environment
from ledger.domain import case as case_rules
from ledger.domain import records
from ledger.domain.case import CHINA, Case, business_day
from ledger.domain.ids import aggregate_id
from ledger.domain.records import Directory, Record
from ledger.errors import Conflict, InvalidInput, LedgerError, NotFound, Refused
from ledger.narrative import Names, describe
from ledger.rules import BoundLimits, RuleSet
from ledger.store import LedgerReader, RecordedTimeRegression
from schemas import events as ev
from schemas.commands import Command
from schemas.common import Actor
from schemas.events import Envelope, Event
from schemas.views import CaseView, CommandResult, TimelineEntry

State = Case | Record
FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far a stated business time may run ahead of the server clock (clock drift)."""

REFERENCES: dict[str, str] = {
    "to_unit": "unit",
    "home_township": "unit",
    "township": "unit",
    "village": "unit",
    "unit": "unit",
    "parent": "unit",
    "leader": "official",
    "official": "official",
    "approved_by": "official",
    "repeat_of": "case",
    "reception": "reception",
    "case": "case",
}
"""Event fields that name another aggregate, which must exist."""

LIST_REFERENCES: dict[str, str] = {"cases": "case"}


def china_now() -> datetime:
    return datetime.now(CHINA)


def _digest(command: Command) -> str:
    return hashlib.sha256(msgspec.json.encode(command)).hexdigest()


result_encoder = msgspec.json.Encoder()
result_decoder = msgspec.json.Decoder(CommandResult)


class _Work:
    """Events decided but not yet saved, and the states they lead to (one transaction)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.receipts: list[tuple[str, str, bytes]] = []
        self.results: dict[str, tuple[str, CommandResult]] = {}
        self.states: dict[UUID, State] = {}
        self.loaded: dict[UUID, State | None] = {}
        """Aggregates read ahead for a chunk (None: known not to exist)."""
        self.stored_receipts: dict[str, tuple[str, bytes]] | None = None
        """Receipts read ahead for a chunk; None when not read ahead."""

    def add(self, envelope: Envelope, state: State, digest: str, result: CommandResult) -> None:
        self.envelopes.append(envelope)
        self.states[envelope.originator_id] = state
        self.receipts.append((result.command_id, digest, result_encoder.encode(result)))
        self.results[result.command_id] = (digest, result)


class Ledger(Application[UUID]):
    """The 信访 audit ledger on SQLite or PostgreSQL."""

    name = "xinfang"

    def __init__(
        self,
        url: str | None = None,
        *,
        rules: RuleSet | None = None,
        clock: Callable[[], datetime] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = database_url(url)
        self.rules = rules if rules is not None else RuleSet()
        self._clock = clock or china_now
        self._last_recorded = datetime.min.replace(tzinfo=CHINA)
        self._known: set[UUID] = set()
        self._next_number: dict[int, int] = {}
        self.units = Directory(ev.UnitRegistered, lambda code: self.state("unit", code))
        """Registered units by code: their place (for plugins limited to some units) and names."""
        self.officials = Directory(ev.OfficialRegistered, lambda code: self.state("official", code))
        settings = {
            **environment(self.url),
            "AGGREGATE_CACHE_MAXSIZE": "5000",
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
            **(env or {}),
        }
        super().__init__(settings)

    def construct_mapper(self) -> EnvelopeMapper:  # type: ignore[override]
        return EnvelopeMapper()

    # ── reads ────────────────────────────────────────────────────────────────

    def state(self, kind: str, key: str, *, version: int | None = None) -> State | None:
        """The current (or historical) state of an aggregate, or None if it does not exist."""
        evolve = case_rules.evolve if kind == "case" else records.evolve

        def project(state: Any, envelopes: Iterable[Envelope]) -> Any:
            for envelope in envelopes:
                state = evolve(state, envelope)
            return state

        try:
            return self.repository.get(aggregate_id(kind, key), version=version, projector_func=project)
        except AggregateNotFoundError:
            return None

    def today(self) -> date:
        """The business day (China time) on the ledger's clock."""
        return business_day(self._clock())

    def case(self, number: str) -> Case:
        state = self.state("case", number)
        if state is None:
            raise NotFound(f"案件 {number} 不存在", code="unknown_case", case=number)
        assert isinstance(state, Case)
        return state

    def case_view(self, number: str, today: date | None = None) -> CaseView:
        case = self.case(number)
        today = today or self.today()
        clocks = self.rules.clocks(case, today, units=self.units)
        return CaseView(
            number=case.number,
            version=case.version,
            stage=case.stage,
            channel=case.channel,
            subject=case.subject,
            flags=self.rules.flags(case, units=self.units),
            persons=case.persons,
            home_township=case.home_township,
            registered_by=case.registered_by,
            current_unit=case.current_unit,
            leader=case.leader,
            repeat_of=case.repeat_of,
            received_on=case.received_on,
            barred=case.barred,
            ratings=dict(case.ratings),
            clocks=clocks,
            overdue=[c.step for c in clocks if c.overdue and c.kind == "duty"],
            rules_fingerprint=self.rules.fingerprint,
            windows=self.rules.windows(case, today, units=self.units),
        )

    def timeline(self, number: str) -> list[TimelineEntry]:
        """Every event of the case with who, when it happened, when it was recorded and its leaf."""
        case_id = aggregate_id("case", number)
        envelopes: list[Envelope] = list(self.events.get(case_id))  # type: ignore[arg-type]
        if not envelopes:
            raise NotFound(f"案件 {number} 不存在", code="unknown_case", case=number)
        reader: LedgerReader = self.recorder  # type: ignore[assignment]
        leaves = {e.originator_version: reader.leaf_at(case_id, e.originator_version) for e in envelopes}
        names = self.names()
        entries = []
        before: Case | None = None
        for e in envelopes:
            leaf = leaves[e.originator_version]
            entries.append(TimelineEntry(
                version=e.originator_version,
                type=type(e.event).__name__,
                name=ev.chinese_name(type(e.event)),
                occurred_at=e.occurred_at,
                recorded_at=e.recorded_at,
                actor=e.actor,
                event=e.event,
                command_id=e.command_id,
                batch=e.batch,
                migration=e.migration,
                original_actor=e.original_actor,
                seq=leaf.seq if leaf else None,
                leaf_hash=leaf.leaf_hash.hex() if leaf else None,
                text=describe(e, names, before),
            ))
            before = case_rules.evolve(before, e)
        return entries

    def names(self) -> Names:
        """Unit and official names, for what people read."""
        return Names(self.units, self.officials)

    # ── writes ───────────────────────────────────────────────────────────────

    def execute(self, command: Command, actor: Actor, *, batch: str | None = None,
                migration: str | None = None) -> CommandResult:
        """Decide and save one command; a repeated ``command_id`` returns the first result.

        ``batch`` names the import it came in (provenance only); ``migration`` the declared
        migration it belongs to (:meth:`_check_migration`).
        """
        for _ in range(5):
            work = _Work()
            result = self._decide(command, actor, batch, migration, work)
            if result.repeated:
                return result
            try:
                self._save(work)
            except RecordedTimeRegression:
                continue  # another writer recorded later than our clock read: take a fresh time
            except IntegrityError as exc:
                raise self._explain_conflict(command) from exc
            return result
        raise Conflict("服务器时钟与其他写入者不一致，请稍后重试", code="clock_conflict")

    def execute_many(
        self, commands: Iterable[Command], actor: Actor, *, batch: str | None = None, migration: str | None = None,
        chunk: int = 500,
    ) -> Iterator[CommandResult | LedgerError]:
        """Decide commands in order, ``chunk`` at a time: one read of what a chunk needs, one transaction.

        Yields one outcome per command, in order: its result, or the error that refused
        it. A refused command writes nothing and does not stop the others. If a chunk's
        transaction conflicts with another writer, its commands are retried one by one.
        """
        remaining = iter(commands)
        while group := list(islice(remaining, chunk)):
            work = _Work()
            self._prefetch(group, work)
            outcomes: list[CommandResult | LedgerError] = []
            for command in group:
                try:
                    outcomes.append(self._decide(command, actor, batch, migration, work))
                except LedgerError as exc:
                    outcomes.append(exc)
            yield from self._flush(work, group, outcomes, actor, batch, migration)

    def _prefetch(self, group: list[Command], work: _Work) -> None:
        """Read the receipts and aggregates a chunk needs in two queries instead of two per command."""
        reader: LedgerReader = self.recorder  # type: ignore[assignment]
        work.stored_receipts = reader.get_receipts([c.command_id for c in group])
        kinds = {aggregate_id(kind, key): kind for kind, key in map(self._address, group) if key}
        work.loaded = dict.fromkeys(kinds)
        for uid, stored in groupby(reader.select_events_of(list(kinds)), key=attrgetter("originator_id")):
            evolve = case_rules.evolve if kinds[uid] == "case" else records.evolve
            state: Any = None
            for event in stored:
                state = evolve(state, self.mapper.to_domain_event(event))  # type: ignore[arg-type]
            work.loaded[uid] = state

    def _flush(
        self,
        work: _Work,
        pending: list[Command],
        outcomes: list[CommandResult | LedgerError],
        actor: Actor,
        batch: str | None,
        migration: str | None,
    ) -> list[CommandResult | LedgerError]:
        if not work.envelopes:
            return outcomes
        try:
            self._save(work)
        except IntegrityError:
            self._next_number.clear()  # numbers assigned in the failed chunk may now be taken
            retried: list[CommandResult | LedgerError] = []
            for command in pending:
                try:
                    retried.append(self.execute(command, actor, batch=batch, migration=migration))
                except LedgerError as exc:
                    retried.append(exc)
            return retried
        return outcomes

    def _save(self, work: _Work) -> None:
        try:
            # Straight to the event store: the envelopes are already domain events, and
            # Application.save's per-object protocol checks cost more than deciding them.
            self.events.put(work.envelopes, receipts=work.receipts)  # type: ignore[arg-type]
        except IntegrityError:
            raise
        except PersistenceError as exc:
            raise LedgerError(f"数据库写入失败：{exc}", code="storage_error") from exc
        self._known.update(work.states)

    def _explain_conflict(self, command: Command) -> LedgerError:
        receipt = self.recorder.get_receipt(command.command_id)  # type: ignore[attr-defined]
        if receipt is not None:
            return Conflict(
                f"命令编号 {command.command_id} 已被另一条命令使用", code="command_id_reused"
            )
        kind, key = self._address(command)
        state = self.state(kind, key) if key else None
        current = state.version if state is not None else 0
        return Conflict(
            f"{records.KIND_NAMES.get(kind, '案件')} {key} 已被他人更新（当前版本 {current}），请刷新后重试",
            code="stale_version",
            current_version=current,
        )

    # ── deciding ─────────────────────────────────────────────────────────────

    def _address(self, command: Command) -> tuple[str, str]:
        event_type = command.event
        if event_type.key_field is None:
            return event_type.aggregate, command.case  # type: ignore[attr-defined]
        return event_type.aggregate, getattr(command, event_type.key_field) or ""

    def _load(self, kind: str, key: str, work: _Work) -> State | None:
        uid = aggregate_id(kind, key)
        if uid in work.states:
            return work.states[uid]
        if uid in work.loaded:
            return work.loaded[uid]
        return self.state(kind, key)

    def _exists(self, kind: str, key: str, work: _Work) -> bool:
        uid = aggregate_id(kind, key)
        if uid in self._known or uid in work.states or work.loaded.get(uid) is not None:
            return True
        if uid not in work.loaded and self.state(kind, key) is not None:
            self._known.add(uid)
            return True
        return False

    def _previous_result(self, command: Command, digest: str, work: _Work) -> CommandResult | None:
        earlier = work.results.get(command.command_id)
        if earlier is None:
            stored = (
                self.recorder.get_receipt(command.command_id)  # type: ignore[attr-defined]
                if work.stored_receipts is None
                else work.stored_receipts.get(command.command_id)
            )
            earlier = (stored[0], result_decoder.decode(stored[1])) if stored else None
        if earlier is None:
            return None
        if earlier[0] != digest:
            raise Conflict(
                f"命令编号 {command.command_id} 已被另一条命令使用，请为新命令使用新的编号",
                code="command_id_reused",
            )
        return msgspec.structs.replace(earlier[1], repeated=True)

    def _decide(self, command: Command, actor: Actor, batch: str | None, migration: str | None,
                work: _Work) -> CommandResult:
        digest = _digest(command)
        previous = self._previous_result(command, digest, work)
        if previous is not None:
            return previous
        self._check_migration(command, actor, migration, work)
        event = self._event_of(command, work)
        kind, key = event.aggregate, self._key(command, event)
        state = self._load(kind, key, work)
        self._check_version(command, kind, key, state)
        day = business_day(command.occurred_at)
        self._check_time(command, state)
        self._check_references(event, work)
        if isinstance(event, ev.PetitionRegistered):
            if state is not None:
                raise Refused(f"案件编号 {key} 已存在，不能重复登记", code="illegal_transition")
        elif kind == "case":
            self._check_case(state, event, day, key, work)
        else:
            reason = records.refusal(state, event)  # type: ignore[arg-type]
            if reason:
                raise Refused(reason, code="illegal_transition")
            if reason := records.place_refusal(event, self.units):
                raise Refused(reason, code="rule_violation")
        if reasons := self.rules.check(event, state if isinstance(state, Case) else None, day, units=self.units):
            raise Refused("；".join(reasons), code="plugin_rule")
        envelope = Envelope(
            originator_id=aggregate_id(kind, key),
            originator_version=(state.version if state is not None else 0) + 1,
            occurred_at=command.occurred_at,
            recorded_at=self._now(),
            actor=actor,
            event=event,
            command_id=command.command_id,
            batch=batch,
            migration=migration,
            original_actor=command.original_actor,
        )
        evolve = case_rules.evolve if kind == "case" else records.evolve
        new_state = evolve(state, envelope)  # type: ignore[arg-type]
        result = CommandResult(
            command_id=command.command_id,
            event_type=type(event).__name__,
            aggregate=kind,
            key=key,
            aggregate_id=envelope.originator_id,
            version=envelope.originator_version,
            recorded_at=envelope.recorded_at,
        )
        work.add(envelope, new_state, digest, result)
        return result

    def _event_of(self, command: Command, work: _Work) -> Event:
        fields = {name: getattr(command, name) for name in command.event.__struct_fields__}
        if command.event is ev.PetitionRegistered and fields.get("number") is None:
            fields["number"] = self._assign_number(business_day(command.occurred_at).year, work)
        try:
            return command.event(**fields)
        except (TypeError, msgspec.ValidationError) as exc:
            raise InvalidInput(f"命令内容无效：{exc}", code="invalid_command") from exc

    @staticmethod
    def _key(command: Command, event: Event) -> str:
        if event.key_field is not None:
            return records.key_of(event)
        return command.case  # type: ignore[attr-defined, no-any-return]

    @staticmethod
    def _check_version(command: Command, kind: str, key: str, state: State | None) -> None:
        current = state.version if state is not None else 0
        if command.expected_version is not None and command.expected_version != current:
            raise Conflict(
                f"{records.KIND_NAMES.get(kind, '案件')} {key} 已更新：你看到的是版本 {command.expected_version}，"
                f"当前版本 {current}。请刷新后重试",
                code="stale_version",
                current_version=current,
            )

    def _check_migration(self, command: Command, actor: Actor, migration: str | None, work: _Work) -> None:
        """Migration is a declared act: an administrator declares it (source, cut-off, expected
        count), and only its import may carry steps dated before the cut-off with the source
        system's own actors. Anything else is an ordinary entry."""
        if command.event is ev.MigrationDeclared and actor.role != "admin":
            raise Refused("历史数据迁移须由管理员声明", code="rule_violation")
        if migration is None:
            if command.original_actor is not None:
                raise Refused("只有已声明迁移的导入可以注明原系统经办人（original_actor）", code="rule_violation")
            return
        if actor.role != "admin":
            raise Refused("迁移导入须由管理员执行", code="rule_violation")
        if command.event is ev.MigrationDeclared:
            raise Refused("迁移声明不能作为迁移的一部分导入", code="rule_violation")
        declared = self._load("migration", migration, work)
        if not isinstance(declared, Record) or not isinstance(declared.created, ev.MigrationDeclared):
            raise NotFound(f"迁移 {migration} 未声明：请先由管理员声明（DeclareMigration）", code="unknown_migration")
        cutoff = declared.created.cutoff
        if command.occurred_at >= cutoff:
            raise Refused(
                f"迁移 {migration} 只导入 {cutoff.astimezone(CHINA):%Y-%m-%d %H:%M} 之前发生的历史：本条发生于 "
                f"{command.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M}，请作为普通记录录入", code="rule_violation",
            )

    def _check_time(self, command: Command, state: State | None) -> None:
        if command.occurred_at > self._clock() + FUTURE_TOLERANCE:
            raise Refused("发生时间晚于当前时间：不能登记尚未发生的事", code="rule_violation")
        corrects = command.event is ev.EventCorrected
        if isinstance(state, Case) and not corrects and command.occurred_at < state.stage_since:
            raise Refused(
                f"发生时间 {command.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M} 早于本案进入「{state.stage}」"
                f"的时间（{state.stage_since.astimezone(CHINA):%Y-%m-%d %H:%M}）：如需改正，请用更正",
                code="rule_violation",
            )

    def _check_references(self, event: Event, work: _Work) -> None:
        for field in event.__struct_fields__:
            value = getattr(event, field)
            if field == event.key_field or not value:
                continue
            kind = REFERENCES.get(field) or LIST_REFERENCES.get(field)
            keys = value if field in LIST_REFERENCES else [value]
            for key in keys if kind else ():
                if not self._exists(kind, key, work):
                    raise Refused(
                        f"{records.KIND_NAMES.get(kind, '案件')} {key} 不存在（字段 {field}）：请先登记",
                        code="unknown_reference",
                        field=field,
                    )

    def _check_case(self, state: State | None, event: Event, day: date, key: str, work: _Work) -> None:
        if state is None:
            raise NotFound(f"案件 {key} 不存在", code="unknown_case", case=key)
        assert isinstance(state, Case)
        refused = case_rules.refusal(state, event, day, BoundLimits(self.rules, self.units))
        if refused:
            raise Refused(refused[1], code=refused[0])
        if isinstance(event, ev.CaseAccepted) and state.repeat_of:
            earlier = self._load("case", state.repeat_of, work)
            if isinstance(earlier, Case) and earlier.barred:
                raise Refused(
                    f"本件是案件 {state.repeat_of} 的重复信访，该事项已复核终结、不再受理（C22 第36条）",
                    code="rule_violation",
                )

    def _now(self) -> datetime:
        """Server time, never earlier than what this process recorded before."""
        now = max(self._clock(), self._last_recorded)
        self._last_recorded = now
        return now

    def _assign_number(self, year: int, work: _Work) -> str:
        """The next free case number of the year: ``2021-000123``."""
        n = self._next_number.get(year)
        if n is None:
            n = self._first_free(year, work)
        while self._exists("case", f"{year}-{n:06d}", work):
            n += 1
        self._next_number[year] = n + 1
        return f"{year}-{n:06d}"

    def _first_free(self, year: int, work: _Work) -> int:
        """Gallop then bisect over existing numbers: O(log n) lookups on a cold start."""
        taken = lambda n: self._exists("case", f"{year}-{n:06d}", work)  # noqa: E731
        if not taken(1):
            return 1
        low, high = 1, 2
        while taken(high):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if taken(middle) else (low, middle)
        return high
