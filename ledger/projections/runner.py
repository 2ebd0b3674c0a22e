"""Running the projections: fold the log, keep positions, catch up, rebuild, follow.

:class:`Projector` is the one entry point. ``state(size)`` answers "what did the ledger
know after its first ``size`` events": from the persisted projections when ``size`` is
the end of the log (catching them up first), otherwise by folding that prefix from
zero in memory — both go through the same fold, so they agree (property-tested).

Replay decodes each stored event once with msgspec and feeds it to the folds that are
behind; rows are written in batches (one transaction per ``flush_every`` events, with
the positions), never per event.

:meth:`Projector.sync` is what every read calls first: it reads only the events recorded since
the stored positions, loads only the rows those events touch, and writes them back with the
positions — so keeping the read model current costs what is new, not what is there. It also
keeps the rows the active rule set derives (deadlines, flags: :mod:`ledger.projections.derived`).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.codec import decoder as envelope_decoder
from ledger.domain.ids import aggregate_id
from ledger.errors import IntegrityFailure
from ledger.merkle import CompactRange, leaf_hash
from ledger.integrity.proofs import Proofs
from ledger.projections import rows
from ledger.projections.derived import derive_rows
from ledger.projections.state import PROJECTIONS, CaseFacts, Fold, Late, RecordFacts, State
from ledger.projections.tables import StalePosition, Tables, tables_for
from ledger.rules import RuleSet
from ledger.store.leaves import decode_leaf, parse_recorded_at
from schemas.events import EVENTS_BY_NAME
from schemas.reports import Damage

VERSIONS: dict[str, int] = {"cases": 4, "records": 2, "backfill": 2}
"""Bump a projection's version when its rows change shape: it is rebuilt on next use."""
DERIVED_VERSION = 1
"""Version of the rows a rule set derives (deadlines, flags); bump when their shape changes."""
SYNC_BATCH = 20_000
"""Events folded per transaction when catching up incrementally."""
FULL_LOAD_AFTER = 200_000
"""Behind by more than this, catching up loads the whole state instead of the rows touched."""

Advance = Callable[[int], None]

_encode = msgspec.json.Encoder().encode
_case_decoder = msgspec.json.Decoder(CaseFacts)
_record_decoder = msgspec.json.Decoder(RecordFacts)
_late_decoder = msgspec.json.Decoder(Late)


class _EventHead(msgspec.Struct):
    type: str
    case: str | None = None


class _Head(msgspec.Struct):
    """What catching up needs to know of an event before folding it: whose it is, and the migration it
    belongs to (whose declaration the fold reads)."""

    originator_id: UUID
    event: _EventHead
    migration: str | None = None

    @property
    def aggregate(self) -> str:
        return EVENTS_BY_NAME[self.event.type].aggregate


_head_decoder = msgspec.json.Decoder(_Head)


FREEZE_AFTER = 50_000
"""Folds of at least this many events keep the collector off their state afterwards (see :func:`_no_gc`)."""


@contextmanager
def _no_gc(events: int) -> Iterator[None]:
    """Fold ``events`` events without the cyclic garbage collector, and keep it off a large state afterwards.

    Replay allocates millions of small objects and keeps hundreds of thousands of them, none
    in a reference cycle. With the collector on, each burst of allocations makes it walk the
    growing state again. So it is off during the fold; after a large fold the survivors are
    moved to the permanent generation (:func:`gc.freeze`), where reference counting still
    frees them but collections no longer visit them. Before a large fold, garbage already
    waiting is collected, so nothing cyclic is frozen along with the state; small folds
    (catching up a few events) leave the collector's generations as they are.
    """
    enabled = gc.isenabled()
    large = events >= FREEZE_AFTER
    if enabled and large:
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if large:
            gc.freeze()
        if enabled:
            gc.enable()


class Projector:
    """The projections of one ledger database."""

    def __init__(self, recorder: Any, url: str, rules: RuleSet, *, flush_every: int = 200_000) -> None:
        self.reader = recorder
        self.url = url
        self.rules = rules
        self.tables: Tables = tables_for(recorder, url)
        self.flush_every = flush_every
        self.proofs = Proofs(recorder)
        self._ledger: Any = None

    @classmethod
    def of(cls, ledger: Any, **kwargs: Any) -> Projector:
        projector = cls(ledger.recorder, ledger.url, ledger.rules, **kwargs)
        projector._ledger = ledger  # the application closes its recorder's connections when it goes
        return projector

    def close(self) -> None:
        self.tables.close()

    # ── the log's geometry ───────────────────────────────────────────────────

    def tree_size(self) -> int:
        return int(self.reader.tree_size())

    def recorded_at(self, seq: int) -> datetime:
        rows = self.reader.select_leaves(seq, 1)
        if not rows or rows[0].seq != seq:
            raise IntegrityFailure(f"日志缺少序号 {seq} 的叶子", code="missing_leaf", seq=seq)
        return parse_recorded_at(decode_leaf(rows[0].leaf).recorded_at)

    def size_as_of(self, as_of: datetime | None, size: int | None = None) -> int:
        """How many events had been recorded at ``as_of``: ``recorded_at`` never decreases along ``seq``."""
        size = self.tree_size() if size is None else size
        if as_of is None:
            return size
        low, high = 0, size
        while low < high:
            middle = (low + high) // 2
            if self.recorded_at(middle) <= as_of:
                low = middle + 1
            else:
                high = middle
        return low

    def root(self, size: int) -> bytes:
        """RFC 9162 root of the first ``size`` leaves, from the stored nodes."""
        return self.proofs.root(size)

    # ── folding ──────────────────────────────────────────────────────────────

    def _feed(self, step: Fold, start: int, stop: int, advance: Advance | None,
              pages: list[list[Any]] | None = None) -> Iterator[int]:
        """Fold events ``[start, stop)`` (read here, or given as ``pages``); yields the position after each page."""
        decode = envelope_decoder.decode
        expected = start
        with _no_gc(stop - start):
            for page in self.tables.events(start, stop) if pages is None else pages:
                if page[0][0] != expected or page[-1][0] != expected + len(page) - 1:
                    missing = next((expected + i for i, row in enumerate(page) if row[0] != expected + i), expected)
                    raise IntegrityFailure(f"日志序号 {missing} 的事件缺失", code="missing_event", seq=missing)
                for seq, data in page:
                    try:
                        envelope = decode(data)
                    except msgspec.MsgspecError as exc:
                        raise IntegrityFailure(
                            f"日志序号 {seq} 的事件无法解码：{exc}", code="undecodable_event", seq=seq
                        ) from exc
                    step(seq, envelope)
                expected += len(page)
                if advance is not None:
                    advance(len(page))
                yield expected
        if expected != stop:
            raise IntegrityFailure(f"日志序号 {expected} 的事件缺失", code="missing_event", seq=expected)

    def replay(self, stop: int, advance: Advance | None = None) -> State:
        """The state of the prefix ``[0, stop)``, folded from zero in memory."""
        state = State()
        for _ in self._feed(Fold(state), 0, stop, advance):
            pass
        state.size = stop
        return state

    def verified_replay(self, stop: int, advance: Advance | None = None) -> tuple[State, bytes, list[Damage]]:
        """:meth:`replay`, checking every stored event against its leaf on the way.

        Returns the state, the root recomputed from the stored leaves (not from the stored
        tree nodes), and every event whose stored bytes no longer match the
        ``payload_sha256`` of its leaf, or that no longer decodes. A damaged event is still
        folded when it decodes: the state is what the stored log says now.
        """
        state = State()
        step = Fold(state)
        decode = envelope_decoder.decode
        tree = CompactRange()
        damage: list[Damage] = []
        expected = 0
        with _no_gc(stop):
            for page in self.tables.events(0, stop, leaves=True):
                for seq, data, leaf_bytes in page:
                    if seq != expected:
                        raise IntegrityFailure(f"日志序号 {expected} 的事件缺失", code="missing_event", seq=expected)
                    leaf_bytes = bytes(leaf_bytes)
                    tree.append(leaf_hash(leaf_bytes))
                    leaf = decode_leaf(leaf_bytes)
                    problems = []
                    if hashlib.sha256(data).hexdigest() != leaf.payload_sha256:
                        problems.append("存储的事件内容与叶子中的摘要（payload_sha256）不符：事件被改动")
                    try:
                        envelope = decode(data)
                    except msgspec.MsgspecError as exc:
                        problems.append(f"事件无法解码：{exc}")
                        envelope = None
                    if envelope is not None:
                        step(seq, envelope)
                    if problems:
                        damage.append(self._damage(state, seq, leaf, "；".join(problems)))
                    expected += 1
                if advance is not None:
                    advance(len(page))
        if expected != stop:
            raise IntegrityFailure(f"日志序号 {expected} 的事件缺失", code="missing_event", seq=expected)
        state.size = stop
        return state, tree.root(), damage

    @staticmethod
    def _damage(state: State, seq: int, leaf: Any, problem: str) -> Damage:
        oid = UUID(leaf.aggregate_id)
        facts = state.cases.get(oid.int)
        record = state.records.get(oid.int)
        key = facts.case.number if facts is not None else record.key if record is not None else None
        kind = "case" if facts is not None else record.kind if record is not None else "?"
        return Damage(seq=seq, kind=kind, key=key, type=leaf.type, problem=problem)

    # ── persisted projections ────────────────────────────────────────────────

    def status(self) -> dict[str, tuple[int, bool]]:
        """name → (position, needs rebuild)."""
        stored = self.tables.positions()
        return {name: (stored.get(name, (0, 0))[0], self._stale(name, stored)) for name in PROJECTIONS}

    @staticmethod
    def _stale(name: str, stored: dict[str, tuple[int, int]]) -> bool:
        row = stored.get(name)
        return row is None or row[1] != VERSIONS[name]

    def _positions(self) -> dict[str, int]:
        """Each fact projection's position; stale ones are emptied and start again at 0."""
        stored = self.tables.positions()
        stale = [name for name in PROJECTIONS if self._stale(name, stored)]
        if stale:
            self.tables.reset(stale, VERSIONS)
            stored = self.tables.positions()
        return {name: stored[name][0] for name in PROJECTIONS}

    def load(self) -> tuple[State, dict[str, int]]:
        """The persisted state and each projection's position; stale projections start again at 0."""
        positions = self._positions()
        state = State()
        with _no_gc(max(positions.values())):
            for body in self.tables.bodies("proj_cases"):
                facts = _case_decoder.decode(body)
                state.cases[facts.case.id.int] = facts
            for body in self.tables.bodies("proj_records"):
                record = _record_decoder.decode(body)
                state.records[aggregate_id(record.kind, record.key).int] = record
            for body in self.tables.bodies("proj_backfill"):
                late = _late_decoder.decode(body)
                state.late[late.seq] = late
            for actor, unit, day, events in self.tables.activity():
                state.activity[(actor, unit, date.fromisoformat(day))] = int(events)
        return state, positions

    def catch_up(self, advance: Advance | None = None, stop: int | None = None) -> State:
        """Bring every projection to the end of the log (or ``stop``) and return the whole state there."""
        for _ in range(10):
            state, positions = self.load()
            try:
                self._advance(state, positions, self.tree_size() if stop is None else stop, advance)
            except StalePosition:
                continue  # someone else caught up meanwhile: start from what they wrote
            self.derive(state.size)
            return state
        raise StalePosition("projections keep moving under us")

    def sync(self) -> int:
        """Bring the read model at least to the end of the log as it is now, reading only what is new.

        One query when nothing is new. Otherwise the new events are folded into the rows they
        touch, loaded by id, in transactions of :data:`SYNC_BATCH` events; far behind (a first
        start on a large log), the whole state is loaded once instead. Another process catching
        up at the same time only moves the positions forward, so this ends once they pass the
        end seen on entry, whoever moved them. Returns that end.
        """
        target = self.tree_size()
        for _ in range(50):
            positions = self._positions()
            try:
                if target - min(positions.values()) > FULL_LOAD_AFTER:
                    self.catch_up(stop=target)
                    return target
                while (start := min(positions.values())) < target:
                    stop = min(target, start + SYNC_BATCH)
                    pages = list(self.tables.events(start, stop))
                    state = self._touched_state(pages)
                    self._advance(state, positions, stop, None, pages=pages)
                self.derive(target)
                return target
            except StalePosition:
                continue
        raise StalePosition("projections keep moving under us")

    def _touched_state(self, pages: list[list[Any]]) -> State:
        """A state holding only the stored rows of the aggregates these events touch."""
        case_ids: list[str] = []
        record_ids: list[str] = []
        for page in pages:
            for _, data in page:
                head = _head_decoder.decode(data)
                (case_ids if head.aggregate == "case" else record_ids).append(str(head.originator_id))
                if head.migration is not None:
                    record_ids.append(str(aggregate_id("migration", head.migration)))
        state = State()
        for body in self.tables.bodies("proj_cases", sorted(set(case_ids))):
            facts = _case_decoder.decode(body)
            state.cases[facts.case.id.int] = facts
        for body in self.tables.bodies("proj_records", sorted(set(record_ids))):
            record = _record_decoder.decode(body)
            state.records[aggregate_id(record.kind, record.key).int] = record
        return state

    def rebuild(self, names: list[str] | None = None, advance: Advance | None = None) -> State:
        """Empty the named projections (all by default) and fold them again from zero."""
        self.tables.reset(list(names or PROJECTIONS), VERSIONS)
        return self.catch_up(advance)

    def state(self, size: int | None = None, advance: Advance | None = None) -> State:
        """The state after the first ``size`` events (the whole log by default)."""
        end = self.tree_size()
        if size is None or size == end:
            return self.catch_up(advance, stop=end)
        if size > end:
            raise IntegrityFailure(f"日志只有 {end} 条事件，没有前 {size} 条", code="short_log")
        return self.replay(size, advance)

    def _advance(self, state: State, positions: dict[str, int], stop: int, advance: Advance | None,
                 pages: list[list[Any]] | None = None) -> None:
        """Fold ``[min(positions), stop)`` into ``state``, each projection from its own position, and write.

        ``pages``: those events already read (incremental catch-up); else they are read here.
        """
        if max(positions.values()) > stop:
            raise IntegrityFailure(
                f"投影已处理 {max(positions.values())} 条事件，而日志只有 {stop} 条：日志被截短？请核验账本",
                code="log_shorter_than_projection",
            )
        starts = sorted(set(positions.values()))
        position = starts[0]
        while position < stop:
            fold = Fold(state, tuple(n for n in PROJECTIONS if positions[n] <= position))
            boundary = min([p for p in starts if p > position] + [stop])
            written = position
            source = _slice(pages, position, boundary) if pages is not None else None
            for reached in self._feed(fold, position, boundary, advance, source):
                if reached - written >= self.flush_every or reached == boundary:
                    self._flush(state, fold, positions, reached)
                    written = reached
            position = boundary
        state.size = stop

    def _flush(self, state: State, fold: Fold, positions: dict[str, int], reached: int) -> None:
        writes: dict[str, list[Any]] = {}
        deletes: dict[str, tuple[tuple[str, ...], list[Any]]] = {}
        if fold.fold_cases:
            touched = [state.cases[oid] for oid in sorted(fold.touched_cases)]
            writes.update(rows.case_rows(touched))
            deletes["proj_case_units"] = (("case_id",), [(str(f.case.id),) for f in touched])
        if fold.fold_records:
            touched_records = [(oid, state.records[oid]) for oid in sorted(fold.touched_records)]
            writes.update(rows.record_rows(touched_records, state, self.tables.unit_paths))
        if fold.fold_backfill:
            writes["proj_backfill"] = [rows.late_row(late) for late in fold.new_late]
            writes["proj_activity"] = [
                (actor, unit, day.isoformat(), count) for (actor, unit, day), count in sorted(fold.activity_delta.items())
            ]
        self.tables.commit({name: (positions[name], reached) for name in fold.parts}, writes, deletes)
        for name in fold.parts:
            positions[name] = reached
        fold.written()

    # ── rows a rule set derives ──────────────────────────────────────────────

    @property
    def derived_name(self) -> str:
        return f"derived:{self.rules.fingerprint}"

    def derive(self, stop: int) -> None:
        """Bring this rule set's derived rows (deadlines, flags) to ``stop``, from the fact rows.

        The cases touched since the derived position are read again from ``proj_cases`` (the
        facts are already at ``stop``) with the incidents recorded on them, and their rows are
        written anew; a rule set seen for the first time derives every case.
        """
        name = self.derived_name
        stored = self.tables.positions().get(name)
        if stored is None or stored[1] != DERIVED_VERSION:
            self.tables.reset_derived(name, self.rules.fingerprint, DERIVED_VERSION)
            start = 0
        else:
            start = stored[0]
        if start >= stop:
            return
        if start == 0:
            bodies = self.tables.bodies("proj_cases")
        else:
            bodies = self.tables.bodies("proj_cases", sorted(self._cases_touched(start, stop)))
        derived = derive_rows(self.rules, [_case_decoder.decode(b) for b in bodies], self._incidents_of,
                              StoredUnits(self.tables))
        self.tables.commit({name: (start, stop)}, derived.writes, derived.deletes)

    def _cases_touched(self, start: int, stop: int) -> set[str]:
        """Ids of the cases whose derived rows events ``[start, stop)`` may change."""
        touched: set[str] = set()
        numbers: set[str] = set()
        for page in self.tables.events(start, stop):
            for _, data in page:
                head = _head_decoder.decode(data)
                if head.aggregate == "case":
                    touched.add(str(head.originator_id))
                elif (number := getattr(head.event, "case", None)) and head.aggregate == "incident":
                    numbers.add(number)
        touched.update(str(aggregate_id("case", n)) for n in numbers)
        return touched

    def _incidents_of(self, numbers: list[str]) -> dict[str, list[Any]]:
        """The incident records naming each of these cases."""
        found: dict[str, list[Any]] = {}
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            for number, body in self.tables.query(
                f"SELECT case_number, body FROM {{proj_records}} WHERE kind = 'incident' "
                f"AND case_number IN ({', '.join('?' * len(chunk))})", chunk):
                found.setdefault(number, []).append(_record_decoder.decode(bytes(body)))
        return found

    # ── following the log ────────────────────────────────────────────────────

    def follow(self, *, interval: float = 1.0, until: Callable[[], bool] = lambda: False,
               on_change: Callable[[State], None] | None = None) -> None:
        """Keep the projections caught up: poll (SQLite) or wait for NOTIFY (PostgreSQL)."""
        known = -1
        while not until():
            size = self.tree_size()
            if size != known:
                state = self.catch_up()
                known = state.size
                if on_change is not None:
                    on_change(state)
            self.tables.wait(interval)



class StoredUnits:
    """The unit tree as the fact rows hold it (code → parent), read once: what places a case for the rules."""

    def __init__(self, tables: Tables) -> None:
        self._parents = {code: parent for code, parent in tables.query("SELECT code, parent FROM {proj_units}")}

    def get(self, code: str, /) -> _Placed | None:
        return _Placed(self._parents[code]) if code in self._parents else None


class _Placed(msgspec.Struct, frozen=True):
    parent: str | None


def _slice(pages: list[list[Any]], start: int, stop: int) -> list[list[Any]]:
    """The rows of ``pages`` with ``start <= seq < stop``."""
    return [part for page in pages if (part := [row for row in page if start <= row[0] < stop])]
