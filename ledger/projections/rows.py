"""The rows the read model is made of: what the fold's facts look like as table rows.

Besides each aggregate's folded body (what reports decode), the columns and side tables that
queries filter on: a case's stage, units, dates and flags; the units a case concerns (scope);
the officials and units it accuses (检举); the petitioner references it names; the unit tree as
paths (``/county/town-a/village-a1/``, so a subtree is a range of paths); officials; who holds
each petitioner identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

import msgspec

from ledger.projections.state import CaseFacts, Late, RecordFacts, State
from schemas import events as ev

Rows = dict[str, list[tuple[Any, ...]]]

_encode = msgspec.json.Encoder().encode


def flag_text(flags: Iterable[str]) -> str:
    """Flags as ``,检举,集体,``: a flag is found with ``LIKE '%,检举,%'``."""
    return "," + "".join(f"{f}," for f in flags)


def case_rows(touched: list[CaseFacts]) -> Rows:
    """The rows of these cases (their units are deleted and written again by the caller)."""
    cases, units, accused, petitioners = [], [], [], []
    for facts in touched:
        case = facts.case
        cid = str(case.id)
        cases.append((
            cid, case.number, case.stage, facts.unit, case.current_unit, case.leader, case.received_on.isoformat(), flag_text(case.flags),
            case.registered_by, case.home_township, case.channel, case.subject, case.repeat_of, case.version,
            _encode(facts),
        ))
        units += [(cid, unit) for unit in sorted(case.concerned_units())]
        accused += [(cid, code) for code in case.accused]
        petitioners += [(ref, cid) for ref in case.petitioners]
    return {"proj_cases": cases, "proj_case_units": units, "proj_case_accused": accused,
            "proj_case_petitioners": petitioners}


def record_rows(touched: list[tuple[int, RecordFacts]], state: State,
                stored_paths: Callable[[Iterable[str]], dict[str, str]]) -> Rows:
    """The rows of these records; a unit's path extends its parent's (in ``state`` or stored)."""
    records, units, officials, identities = [], [], [], []
    registered = {r.key: r.event for r in state.records.values() if isinstance(r.event, ev.UnitRegistered)}
    known = stored_paths({e.parent for e in registered.values() if e.parent and e.parent not in registered})
    for oid, record in touched:
        e = record.event
        records.append((str(UUID(int=oid)), record.kind, record.key, record.day.isoformat(), record.unit,
                        getattr(e, "case", None) if isinstance(e, ev.IncidentRecorded) else None, _encode(record)))
        if isinstance(e, ev.UnitRegistered):
            units.append((e.code, e.name, e.kind, e.parent, e.township_class, unit_path(e.code, registered, known)))
        elif isinstance(e, ev.OfficialRegistered):
            officials.append((e.code, e.name, e.unit, e.title))
        elif record.kind == "petitioner":
            erased = isinstance(e, ev.PetitionerIdentityErased) or "PetitionerIdentityErased" in record.done
            holder = e.holder if isinstance(e, ev.PetitionerIdentityRecorded) else record.unit
            identities.append((record.key, holder, int(erased)))
    return {"proj_records": records, "proj_units": units, "proj_officials": officials, "proj_identities": identities}


def unit_path(code: str, registered: dict[str, ev.UnitRegistered], known: dict[str, str]) -> str:
    """``/root/…/code/``: the codes from the top of the tree down to ``code``."""
    chain: list[str] = []
    unit: str | None = code
    while unit is not None and unit not in known and len(chain) < 64:
        chain.append(unit)
        parent = registered.get(unit)
        unit = parent.parent if parent is not None else None
    path = known.get(unit, "/") if unit is not None else "/"
    for step in reversed(chain):
        path += f"{step}/"
        known[step] = path
    return known[code]


def late_row(late: Late) -> tuple[Any, ...]:
    hours = int((late.recorded_at - late.occurred_at).total_seconds() // 3600)
    return (
        late.seq, late.aggregate_id, late.kind, late.key, late.type, late.actor, late.unit,
        late.occurred_at.isoformat(), late.recorded_at.isoformat(), hours, _encode(late),
    )
