"""The ledger application: commands in, events out, views back.

One eventsourcing :class:`Application`. For each command it loads what deciding needs — the
state of the aggregate, the receipt of the command id, the next free case number, the server
time — calls the pure :func:`~ledger.domain.decide.decide`, and saves the one event together
with its receipt in one transaction; a refusal writes nothing. Methods return ids and views,
never aggregates.

States are immutable, so eventsourcing's aggregate cache cannot advance them in place: every
state read, fast-forwarded or saved here is put back into the cache, and a read only fetches the
events stored since (another process may have written them). Reading or deciding on a case thus
costs the same at its 20th event and at its 2000th.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from itertools import groupby, islice
from operator import attrgetter
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger.codec import EnvelopeMapper
from ledger.config import database_url, environment
from ledger.domain import case as case_rules
from ledger.domain.case import CHINA, Case, business_day
from ledger.domain.decide import (
    Context,
    Decided,
    Receipt,
    Repeated,
    State,
    address,
    decide,
    fold,
    numbering_year,
)
from ledger.domain.ids import aggregate_id
from ledger.domain.records import Directory
from ledger.errors import Conflict, LedgerError, NotFound
from ledger.narrative import Names, describe
from ledger.rules import RuleSet
from ledger.store import LedgerReader, RecordedTimeRegression
from schemas import events as ev
from schemas.commands import Command
from schemas.common import Actor
from schemas.events import Envelope
from schemas.views import CaseView, CommandResult, TimelineEntry

ATTEMPTS = 5
"""How often a command is decided again after losing a race to another writer."""


def china_now() -> datetime:
    return datetime.now(CHINA)


result_encoder = msgspec.json.Encoder()
result_decoder = msgspec.json.Decoder(CommandResult)


class _Work:
    """One transaction being decided: events not yet saved, the states they lead to, and what
    was read ahead for it. It is the :class:`~ledger.domain.decide.Known` that deciding asks:
    a chunk's later commands see its earlier ones."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.decided: list[Decided] = []
        self.states: dict[UUID, State] = {}
        self.receipts: dict[str, Receipt] = {}
        self.loaded: dict[UUID, State | None] = {}
        """Aggregates read ahead for a chunk (None: known not to exist)."""
        self.stored_receipts: dict[str, tuple[str, bytes]] | None = None
        """Receipts read ahead for a chunk; None when not read ahead."""

    def add(self, decided: Decided) -> None:
        self.decided.append(decided)
        self.states[decided.envelope.originator_id] = decided.state
        self.receipts[decided.result.command_id] = decided.receipt

    def receipt(self, command_id: str) -> Receipt | None:
        if command_id in self.receipts:
            return self.receipts[command_id]
        reader: LedgerReader = self.ledger.recorder  # type: ignore[assignment]
        stored = (
            reader.get_receipt(command_id) if self.stored_receipts is None else self.stored_receipts.get(command_id)
        )
        return None if stored is None else Receipt(stored[0], result_decoder.decode(stored[1]))

    def state(self, kind: str, key: str) -> State | None:
        uid = aggregate_id(kind, key)
        if uid in self.states:
            return self.states[uid]
        if uid in self.loaded:
            return self.loaded[uid]
        return self.ledger.state(kind, key)

    def exists(self, kind: str, key: str) -> bool:
        uid = aggregate_id(kind, key)
        if uid in self.ledger._known or uid in self.states or self.loaded.get(uid) is not None:
            return True
        if uid not in self.loaded and self.ledger.state(kind, key) is not None:
            self.ledger._known.add(uid)
            return True
        return False


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
        """Aggregates known to exist: nothing is ever deleted, so this never goes stale."""
        self._next_number: dict[int, int] = {}
        self.units = Directory(ev.UnitRegistered, lambda code: self.state("unit", code))
        """Registered units by code: their place (for plugins limited to some units) and names."""
        self.officials = Directory(ev.OfficialRegistered, lambda code: self.state("official", code))
        super().__init__({**environment(self.url), "AGGREGATE_CACHE_MAXSIZE": "5000", **(env or {})})

    def construct_mapper(self) -> EnvelopeMapper:  # type: ignore[override]
        return EnvelopeMapper()

    # ── reads ────────────────────────────────────────────────────────────────

    def state(self, kind: str, key: str, *, version: int | None = None) -> State | None:
        """The current (or historical) state of an aggregate, or None if it does not exist."""
        uid = aggregate_id(kind, key)
        if version is not None:
            return fold(None, self.events.get(uid, lte=version))  # type: ignore[arg-type]
        cached = self._cached(uid)
        since = None if cached is None else cached.version
        state = fold(cached, self.events.get(uid, gt=since))  # type: ignore[arg-type]
        if state is not cached:
            self._remember([state])
        return state

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
        """Every event of the case with who, when it happened, when it was recorded and its leaf.

        The leaves are read after the events, in one query: a leaf is written with its event, so
        every event read has its leaf by then.
        """
        case_id = aggregate_id("case", number)
        envelopes: list[Envelope] = list(self.events.get(case_id))  # type: ignore[arg-type]
        if not envelopes:
            raise NotFound(f"案件 {number} 不存在", code="unknown_case", case=number)
        reader: LedgerReader = self.recorder  # type: ignore[assignment]
        leaves = {leaf.originator_version: leaf for leaf in reader.select_leaves_of(case_id)}
        names = self.names()
        entries = []
        before: Case | None = None
        for e in envelopes:
            leaf = leaves.get(e.originator_version)
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

    def _cached(self, uid: UUID) -> State | None:
        cache = self.repository.cache
        try:
            return None if cache is None else cache.get(uid)  # type: ignore[return-value]
        except KeyError:
            return None

    def _remember(self, states: Iterable[State]) -> None:
        """Put committed states into the aggregate cache (eventsourcing only advances mutable ones)."""
        cache = self.repository.cache
        if cache is not None:
            for state in states:
                cache.put(state.id, state)  # type: ignore[arg-type]

    # ── writes ───────────────────────────────────────────────────────────────

    def execute(self, command: Command, actor: Actor, *, batch: str | None = None,
                migration: str | None = None) -> CommandResult:
        """Decide and save one command; a repeat of a ``command_id`` by the same actor returns the first result.

        ``batch`` names the import it came in (provenance only); ``migration`` the declared
        migration it belongs to. If another writer saves first (the same aggregate, the same
        command id, or a later ``recorded_at``), the command is decided again on what is stored
        now: it may then be saved, answered as a repeat, or refused for a real reason
        (``stale_version`` when it stated the version it saw).
        """
        clock_behind = False
        for _ in range(ATTEMPTS):
            work = _Work(self)
            outcome = self._decide(command, actor, batch, migration, work)
            if isinstance(outcome, Repeated):
                return outcome.result
            try:
                self._save(work)
            except IntegrityError as exc:  # another writer saved first: decide again on what it saved
                clock_behind = isinstance(exc, RecordedTimeRegression)
            else:
                return outcome.result
        if clock_behind:
            raise Conflict("服务器时钟与其他写入者不一致，请稍后重试", code="clock_conflict")
        raise Conflict("与其他写入者反复冲突，请稍后重试", code="write_conflict")

    @property
    def clock(self) -> Callable[[], datetime]:
        """The server clock every ``recorded_at`` comes from."""
        return self._clock

    def execute_many(
        self, commands: Iterable[Command], actor: Actor, *, batch: str | None = None, migration: str | None = None,
        chunk: int = 500, authorise: Callable[[Command, frozenset[str]], None] | None = None,
    ) -> Iterator[CommandResult | LedgerError]:
        """Decide commands in order, ``chunk`` at a time: one read of what a chunk needs, one transaction.

        Yields one outcome per command, in order: its result, or the error that refused
        it. A refused command writes nothing and does not stop the others. If a chunk's
        transaction conflicts with another writer, its commands are retried one by one.
        ``authorise(command, created)`` may refuse a command before it is decided; ``created``
        holds the cases registered earlier in this call, which the read side does not know yet.
        """
        remaining = iter(commands)
        created: set[str] = set()
        while group := list(islice(remaining, chunk)):
            work = _Work(self)
            self._prefetch(group, work)
            outcomes: list[CommandResult | LedgerError] = []
            for command in group:
                try:
                    if authorise is not None:
                        authorise(command, frozenset(created))
                    outcome = self._decide(command, actor, batch, migration, work).result
                    if outcome.event_type == "PetitionRegistered":
                        created.add(outcome.key)
                    outcomes.append(outcome)
                except LedgerError as exc:
                    outcomes.append(exc)
            yield from self._flush(work, group, outcomes, actor, batch, migration, authorise, created)

    def _prefetch(self, group: list[Command], work: _Work) -> None:
        """Read the receipts and aggregates a chunk needs in two queries instead of two per command.

        Cached states only need the events stored since; the states read are remembered.
        """
        reader: LedgerReader = self.recorder  # type: ignore[assignment]
        work.stored_receipts = reader.get_receipts([c.command_id for c in group])
        uids = {aggregate_id(*address(c)) for c in group if numbering_year(c) is None}
        work.loaded = {uid: self._cached(uid) for uid in uids}
        since = {uid: 0 if state is None else state.version for uid, state in work.loaded.items()}
        for uid, stored in groupby(reader.select_events_after(since), key=attrgetter("originator_id")):
            envelopes = (self.mapper.to_domain_event(event) for event in stored)
            work.loaded[uid] = fold(work.loaded[uid], envelopes)  # type: ignore[arg-type]
        self._remember(state for state in work.loaded.values() if state is not None)

    def _flush(
        self,
        work: _Work,
        pending: list[Command],
        outcomes: list[CommandResult | LedgerError],
        actor: Actor,
        batch: str | None,
        migration: str | None,
        authorise: Callable[[Command, frozenset[str]], None] | None,
        created: set[str],
    ) -> list[CommandResult | LedgerError]:
        """Save a chunk; if another writer got in first, decide its commands again one by one (each
        asked of ``authorise`` again)."""
        if not work.decided:
            return outcomes
        try:
            self._save(work)
        except IntegrityError:
            self._next_number.clear()  # numbers assigned in the failed chunk may now be taken
            retried: list[CommandResult | LedgerError] = []
            for command in pending:
                try:
                    if authorise is not None:
                        authorise(command, frozenset(created))
                    result = self.execute(command, actor, batch=batch, migration=migration)
                    if result.event_type == "PetitionRegistered":
                        created.add(result.key)
                    retried.append(result)
                except LedgerError as exc:
                    retried.append(exc)
            return retried
        return outcomes

    def _save(self, work: _Work) -> None:
        receipts = [
            (d.result.command_id, d.receipt.digest, result_encoder.encode(d.result)) for d in work.decided
        ]
        try:
            # Straight to the event store: the envelopes are already domain events, and
            # Application.save's per-object protocol checks cost more than deciding them.
            self.events.put([d.envelope for d in work.decided], receipts=receipts)  # type: ignore[arg-type]
        except IntegrityError:
            raise
        except PersistenceError as exc:
            raise LedgerError(f"数据库写入失败：{exc}", code="storage_error") from exc
        self._known.update(work.states)
        self._remember(work.states.values())

    # ── deciding ─────────────────────────────────────────────────────────────

    def _decide(self, command: Command, actor: Actor, batch: str | None, migration: str | None,
                work: _Work) -> Decided | Repeated:
        """Load what ``command`` needs, decide it, and add the event to ``work``."""
        receipt = work.receipt(command.command_id)
        state, number = None, None
        if receipt is None:
            year = numbering_year(command)
            number = None if year is None else self._assign_number(year, work)
            state = work.state(*address(command, number))
        context = Context(now=self._now(), batch=batch, migration=migration, receipt=receipt, number=number)
        outcome = decide(command, actor, state, work, self.rules, context)
        if isinstance(outcome, Decided):
            work.add(outcome)
        return outcome

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
        while work.exists("case", f"{year}-{n:06d}"):
            n += 1
        self._next_number[year] = n + 1
        return f"{year}-{n:06d}"

    def _first_free(self, year: int, work: _Work) -> int:
        """Gallop then bisect over existing numbers: O(log n) lookups on a cold start."""
        taken = lambda n: work.exists("case", f"{year}-{n:06d}")  # noqa: E731
        if not taken(1):
            return 1
        low, high = 1, 2
        while taken(high):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if taken(middle) else (low, middle)
        return high
