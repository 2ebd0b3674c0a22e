"""The read model: SQL over the projection tables, for every entry point that reads.

Case search, the overdue board, a case's scope, units, officials and who holds a petitioner's
identity are indexed queries here — no process keeps its own fold of the log. Every query is
preceded by :meth:`ReadModel.sync` (one query when nothing is new), so a read made after a write
sees it, whichever process wrote.

Who sees what is decided in :mod:`ledger.access`; this module only applies what it decided: a
:class:`Scope` becomes a ``WHERE`` clause, the same one for a search, a board and a single case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec

from ledger.projections.rows import flag_text
from ledger.projections.runner import Projector
from ledger.domain.ids import aggregate_id
from ledger.projections.state import CaseFacts, RecordFacts
from schemas.views import CaseSummary, OfficialView, OverdueBoard, OverdueItem, UnitCount, UnitView

_case_decoder = msgspec.json.Decoder(CaseFacts)
_record_decoder = msgspec.json.Decoder(RecordFacts)

ALL_FLAGS = ("集体", "越级", "非正常", "涉法涉诉", "检举", "紧急")


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """Which cases a reader may see, as :mod:`ledger.access` decided it.

    ``everything``: every case; else those that concern a unit whose path lies in
    ``[low, high)`` (the reader's unit and the units below it), or whose 包案 leader is
    ``leader``. In both cases never a case that accuses one of ``hidden`` (C22 art 30 ¶3).
    """

    everything: bool = False
    low: str = ""
    high: str = ""
    leader: str | None = None
    hidden: tuple[str, ...] = ()


class UnitRow(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    kind: str
    parent: str | None
    township_class: str | None
    path: str

    @property
    def chain(self) -> tuple[str, ...]:
        """This unit and the units above it, nearest first."""
        return tuple(reversed(self.path.strip("/").split("/")))

    def subtree(self) -> tuple[str, str]:
        """The range of paths of this unit and the units below it."""
        return self.path, self.path[:-1] + chr(ord("/") + 1)


class CaseScope(msgspec.Struct, frozen=True, kw_only=True):
    """What access decisions need of one case."""

    id: str
    number: str
    registered_by: str
    leader: str | None
    flags: tuple[str, ...]
    accused: tuple[str, ...]
    units: tuple[str, ...]
    petitioners: tuple[str, ...]


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """A petitioner reference as access sees it: who holds the identity, and the cases naming it."""

    ref: str
    holder: str | None
    """The unit that first wrote the identity; None while none has been written."""
    erased: bool
    origin: str | None
    """The unit that registered the first case naming the reference."""
    cases: tuple[CaseScope, ...]


class CaseFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a search asks for (every field optional)."""

    stage: str | None = None
    unit: str | None = None
    """The responsible unit, or one above it."""
    flag: str | None = None
    """A stated or derived flag, or 重复 for a repeat petition."""
    channel: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool | None = None
    text: str | None = None
    """Found in the case number or the subject."""


class ReadModel:
    """Queries over the projections of one ledger, kept current by :meth:`sync`."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector
        self.tables = projector.tables
        self.rules = projector.rules

    def sync(self) -> int:
        return self.projector.sync()

    def _q(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.tables.query(text, params)

    # ── units and officials ──────────────────────────────────────────────────

    def unit(self, code: str) -> UnitRow | None:
        rows = self._q("SELECT code, name, kind, parent, township_class, path FROM {proj_units} WHERE code = ?", [code])
        return _unit(rows[0]) if rows else None

    def units(self, codes: Sequence[str] | None = None) -> list[UnitRow]:
        """Every unit (or these), in tree order."""
        query = "SELECT code, name, kind, parent, township_class, path FROM {proj_units}"
        if codes is None:
            return [_unit(r) for r in self._q(query + " ORDER BY path")]
        found: list[UnitRow] = []
        for chunk in _chunks(sorted(set(codes))):
            found += [_unit(r) for r in self._q(query + f" WHERE code IN ({_marks(chunk)})", chunk)]
        return sorted(found, key=lambda u: u.path)

    def names(self, codes: Sequence[str]) -> dict[str, str]:
        """Unit and official codes → names (codes nobody registered are left out)."""
        wanted = sorted(set(c for c in codes if c))
        found: dict[str, str] = {}
        for chunk in _chunks(wanted):
            marks = _marks(chunk)
            found.update(self._q(
                f"SELECT code, name FROM {{proj_units}} WHERE code IN ({marks}) "
                f"UNION ALL SELECT code, name FROM {{proj_officials}} WHERE code IN ({marks})", [*chunk, *chunk]))
        return found

    def unit_view(self, unit: UnitRow) -> UnitView:
        children = [r[0] for r in self._q("SELECT code FROM {proj_units} WHERE parent = ? ORDER BY code", [unit.code])]
        return UnitView(code=unit.code, name=unit.name, kind=unit.kind, parent=unit.parent,
                        township_class=unit.township_class, children=children)

    def official(self, code: str) -> OfficialView | None:
        rows = self._q("SELECT code, name, unit, title FROM {proj_officials} WHERE code = ?", [code])
        return OfficialView(code=rows[0][0], name=rows[0][1], unit=rows[0][2], title=rows[0][3]) if rows else None

    def officials(self, low: str, high: str) -> list[OfficialView]:
        """Officials of the units whose paths lie in ``[low, high)``."""
        rows = self._q(
            "SELECT o.code, o.name, o.unit, o.title FROM {proj_officials} o JOIN {proj_units} u ON u.code = o.unit "
            "WHERE u.path >= ? AND u.path < ? ORDER BY o.code", [low, high])
        return [OfficialView(code=r[0], name=r[1], unit=r[2], title=r[3]) for r in rows]

    def record(self, kind: str, key: str) -> RecordFacts | None:
        """A non-case fact (letter, decision, dispute…) by its kind and key."""
        rows = self._q("SELECT body FROM {proj_records} WHERE id = ?", [str(aggregate_id(kind, key))])
        return _record_decoder.decode(bytes(rows[0][0])) if rows else None

    def case_number_of(self, case_id: str) -> str | None:
        rows = self._q("SELECT number FROM {proj_cases} WHERE id = ?", [case_id])
        return rows[0][0] if rows else None

    # ── cases ────────────────────────────────────────────────────────────────

    def case(self, number: str) -> CaseScope | None:
        rows = self._q("SELECT id, number, registered_by, leader, flags FROM {proj_cases} WHERE number = ?", [number])
        return self._scopes(rows)[0] if rows else None

    def case_facts(self, number: str) -> CaseFacts | None:
        rows = self._q("SELECT body FROM {proj_cases} WHERE number = ?", [number])
        return _case_decoder.decode(bytes(rows[0][0])) if rows else None

    def _scopes(self, rows: list[Any]) -> list[CaseScope]:
        ids = [r[0] for r in rows]
        units: dict[str, list[str]] = {}
        accused: dict[str, list[str]] = {}
        refs: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            marks = _marks(chunk)
            for cid, unit in self._q(f"SELECT case_id, unit FROM {{proj_case_units}} WHERE case_id IN ({marks})", chunk):
                units.setdefault(cid, []).append(unit)
            for cid, code in self._q(f"SELECT case_id, code FROM {{proj_case_accused}} WHERE case_id IN ({marks})",
                                     chunk):
                accused.setdefault(cid, []).append(code)
            for ref, cid in self._q(f"SELECT ref, case_id FROM {{proj_case_petitioners}} WHERE case_id IN ({marks})",
                                    chunk):
                refs.setdefault(cid, []).append(ref)
        return [
            CaseScope(id=r[0], number=r[1], registered_by=r[2], leader=r[3], flags=_flags(r[4]),
                      accused=tuple(sorted(accused.get(r[0], ()))), units=tuple(sorted(units.get(r[0], ()))),
                      petitioners=tuple(sorted(refs.get(r[0], ()))))
            for r in rows
        ]

    def visible(self, scope: Scope, number: str) -> bool:
        where, params = _scope_sql(scope)
        return bool(self._q(f"SELECT 1 FROM {{proj_cases}} c WHERE c.number = ? AND {where}", [number, *params]))

    def hidden_numbers(self, codes: Sequence[str]) -> frozenset[str]:
        """Every case accusing one of ``codes`` (withheld from a report for them)."""
        if not codes:
            return frozenset()
        rows = self._q(
            "SELECT DISTINCT c.number FROM {proj_cases} c JOIN {proj_case_accused} a ON a.case_id = c.id "
            f"WHERE a.code IN ({_marks(codes)})", list(codes))
        return frozenset(r[0] for r in rows)

    def accusing_numbers(self) -> frozenset[str]:
        """Every 检举 case that names whom it accuses."""
        return frozenset(r[0] for r in self._q(
            "SELECT DISTINCT c.number FROM {proj_cases} c JOIN {proj_case_accused} a ON a.case_id = c.id"))

    def search(self, scope: Scope, wanted: CaseFilter, today: date, *, limit: int, offset: int
               ) -> tuple[int, list[CaseSummary]]:
        """One page of the visible cases matching ``wanted``, newest first, and how many match in all."""
        fp = self.rules.fingerprint
        where, params = _scope_sql(scope)
        clauses, values = [where], list(params)
        if wanted.stage is not None:
            clauses.append("c.stage = ?")
            values.append(wanted.stage)
        if wanted.channel is not None:
            clauses.append("c.channel = ?")
            values.append(wanted.channel)
        if wanted.received_from is not None:
            clauses.append("c.received_on >= ?")
            values.append(wanted.received_from.isoformat())
        if wanted.received_to is not None:
            clauses.append("c.received_on <= ?")
            values.append(wanted.received_to.isoformat())
        if wanted.unit is not None:
            unit = self.unit(wanted.unit)
            low, high = unit.subtree() if unit is not None else ("", "")
            clauses.append("c.unit IN (SELECT code FROM {proj_units} WHERE path >= ? AND path < ?)")
            values += [low, high]
        if wanted.flag == "重复":
            clauses.append("c.repeat_of IS NOT NULL")
        elif wanted.flag is not None:
            clauses.append("(c.flags LIKE ? OR EXISTS (SELECT 1 FROM {proj_case_rules} r WHERE r.case_id = c.id "
                           "AND r.fingerprint = ? AND r.flags LIKE ?))")
            values += [f"%{flag_text([wanted.flag])}%", fp, f"%{flag_text([wanted.flag])}%"]
        if wanted.text:
            clauses.append("(c.number = ? OR c.subject LIKE ?)")
            values += [wanted.text, "%" + wanted.text.replace("%", "").replace("_", "") + "%"]
        if wanted.overdue is not None:
            late = ("EXISTS (SELECT 1 FROM {proj_deadlines} d WHERE d.case_id = c.id AND d.fingerprint = ? "
                    "AND d.kind = 'duty' AND ((d.stopped_on IS NULL AND d.due < ?) OR d.stopped_on > d.due))")
            clauses.append(late if wanted.overdue else f"NOT {late}")
            values += [fp, today.isoformat()]
        condition = " AND ".join(clauses)
        total = int(self._q(f"SELECT COUNT(*) FROM {{proj_cases}} c WHERE {condition}", values)[0][0])
        rows = self._q(
            "SELECT c.id, c.number, c.version, c.stage, c.channel, c.subject, c.flags, c.home_township, "
            "c.registered_by, c.unit, c.leader, c.repeat_of, c.received_on, r.flags, r.next_due, u.name, c.current_unit "
            "FROM {proj_cases} c LEFT JOIN {proj_case_rules} r ON r.case_id = c.id AND r.fingerprint = ? "
            "LEFT JOIN {proj_units} u ON u.code = c.unit "
            f"WHERE {condition} ORDER BY c.received_on DESC, c.number DESC LIMIT ? OFFSET ?",
            [fp, *values, limit, offset])
        late = self._late_steps([r[0] for r in rows], today)
        return total, [
            CaseSummary(
                number=r[1], version=int(r[2]), stage=r[3], channel=r[4], subject=r[5],
                flags=list(_flags(r[13]) if r[13] is not None else _flags(r[6])), home_township=r[7],
                registered_by=r[8], current_unit=r[16], unit=r[9],
                unit_name=r[15] or r[9], leader=r[10], repeat_of=r[11], received_on=date.fromisoformat(r[12]),
                next_due=date.fromisoformat(r[14]) if r[14] else None, overdue=late.get(r[0], []),
            )
            for r in rows
        ]

    def _late_steps(self, ids: list[str], today: date) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            for cid, step in self._q(
                f"SELECT case_id, step FROM {{proj_deadlines}} WHERE fingerprint = ? AND case_id IN ({_marks(chunk)}) "
                "AND kind = 'duty' AND ((stopped_on IS NULL AND due < ?) OR stopped_on > due) ORDER BY due",
                [self.rules.fingerprint, *chunk, today.isoformat()]):
                found.setdefault(cid, []).append(step)
        return found

    def overdue(self, scope: Scope, on: date, *, unit: str | None, limit: int) -> OverdueBoard:
        """Open cases' statutory deadlines still running past due on ``on``, worst first, with counts per unit."""
        fp = self.rules.fingerprint
        where, params = _scope_sql(scope)
        clauses = [where, "d.fingerprint = ?", "d.kind = 'duty'", "d.stopped_on IS NULL", "d.due < ?",
                   "c.stage <> '已归档'"]
        values: list[Any] = [*params, fp, on.isoformat()]
        if unit is not None:
            row = self.unit(unit)
            low, high = row.subtree() if row is not None else ("", "")
            clauses.append("d.owner IN (SELECT code FROM {proj_units} WHERE path >= ? AND path < ?)")
            values += [low, high]
        joined = ("FROM {proj_deadlines} d JOIN {proj_cases} c ON c.id = d.case_id "
                  "LEFT JOIN {proj_units} u ON u.code = d.owner WHERE " + " AND ".join(clauses))
        counts = self._q(f"SELECT d.owner, MAX(u.name), COUNT(DISTINCT c.id), COUNT(*) {joined} GROUP BY d.owner",
                         values)
        rows = self._q(
            "SELECT c.number, c.subject, d.owner, u.name, c.stage, d.step, d.label, d.basis, d.started_on, d.due, "
            f"d.provisional {joined} ORDER BY d.due, c.number, d.step LIMIT ?", [*values, limit])
        items = [
            OverdueItem(number=r[0], subject=r[1], unit=r[2], unit_name=r[3] or r[2], stage=r[4], step=r[5],
                        label=r[6], basis=r[7], started_on=date.fromisoformat(r[8]), due=date.fromisoformat(r[9]),
                        stopped_on=None, days_late=(on - date.fromisoformat(r[9])).days, provisional=bool(r[10]))
            for r in rows
        ]
        by_unit = sorted((UnitCount(unit=r[0], name=r[1] or r[0], cases=int(r[2]), clocks=int(r[3])) for r in counts),
                         key=lambda c: (-c.cases, c.unit or ""))
        return OverdueBoard(on=on, rules_fingerprint=fp, total_cases=sum(c.cases for c in by_unit),
                            by_unit=by_unit, items=items)

    def stage_counts(self, scope: Scope) -> dict[str, int]:
        where, params = _scope_sql(scope)
        return {r[0]: int(r[1]) for r in self._q(
            f"SELECT c.stage, COUNT(*) FROM {{proj_cases}} c WHERE {where} GROUP BY c.stage", params)}

    # ── petitioner identities ────────────────────────────────────────────────

    def identity(self, ref: str) -> Identity:
        held = self._q("SELECT holder, erased FROM {proj_identities} WHERE ref = ?", [ref])
        rows = self._q(
            "SELECT c.id, c.number, c.registered_by, c.leader, c.flags FROM {proj_cases} c "
            "JOIN {proj_case_petitioners} p ON p.case_id = c.id WHERE p.ref = ? ORDER BY c.received_on, c.number",
            [ref])
        cases = tuple(self._scopes(rows))
        return Identity(ref=ref, holder=held[0][0] if held else None, erased=bool(held and held[0][1]),
                        origin=cases[0].registered_by if cases else None, cases=cases)


def _scope_sql(scope: Scope) -> tuple[str, list[Any]]:
    """The ``WHERE`` condition on cases aliased ``c`` that admits what ``scope`` may see."""
    clauses: list[str] = []
    params: list[Any] = []
    if not scope.everything:
        reach = ("c.id IN (SELECT cu.case_id FROM {proj_case_units} cu JOIN {proj_units} u ON u.code = cu.unit "
                 "WHERE u.path >= ? AND u.path < ?)")
        params += [scope.low, scope.high]
        if scope.leader is not None:
            reach = f"({reach} OR c.leader = ?)"
            params.append(scope.leader)
        clauses.append(reach)
    if scope.hidden:
        clauses.append("NOT EXISTS (SELECT 1 FROM {proj_case_accused} a WHERE a.case_id = c.id "
                       f"AND a.code IN ({_marks(scope.hidden)}))")
        params += list(scope.hidden)
    return (" AND ".join(clauses) or "1 = 1"), params


def _unit(row: Sequence[Any]) -> UnitRow:
    return UnitRow(code=row[0], name=row[1], kind=row[2], parent=row[3], township_class=row[4], path=row[5])


def _flags(text: str) -> tuple[str, ...]:
    return tuple(f for f in text.split(",") if f)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _chunks(values: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
