"""Where a plugin's rules apply: the whole ledger, or the units its configuration names and the units below them.

A plugin's table in the rules file may name units (``units = ["town-qj"]``, a key the rules
host keeps for itself and does not pass to the plugin's ``Config``). Its rules then apply only
there: its clocks and flags only to cases held by those units (the responsible unit, or the
registering one before routing), its checks only to commands about them, and its indicators,
awards and findings are computed from the period's facts of those units alone and reported
for them only. A plugin that declares ``LOCAL = True`` (a township's rule, say) applies
nowhere until its units are named; any other plugin applies to the whole ledger by default.

The host enforces this (:class:`ledger.rules.RuleSet`): a plugin cannot reach past its area.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import msgspec

from schemas.facts import PeriodFacts

SCOPE_KEY = "units"
"""The key of a plugin's rules-file table that names its units."""

Scope = frozenset[str] | None
"""The units a plugin names (None: the whole ledger)."""


class Placed(Protocol):
    """A unit as far as its place in the tree goes."""

    @property
    def parent(self) -> str | None: ...


class Units(Protocol):
    """Units by code (a dict of ``UnitRegistered`` or ``UnitFacts``, or a lazy lookup)."""

    def get(self, code: str, /) -> Placed | None: ...


def within(unit: str | None, scope: Scope, units: Units | None) -> bool:
    """Whether ``unit`` is one of ``scope`` or lies below one of them (any unit when ``scope`` is None).

    Without ``units`` only the named units themselves are within.
    """
    if scope is None:
        return True
    seen: set[str] = set()
    while unit is not None and unit not in seen:
        if unit in scope:
            return True
        seen.add(unit)
        placed = units.get(unit) if units is not None else None
        unit = placed.parent if placed is not None else None
    return False


def facts_within(facts: PeriodFacts, scope: frozenset[str]) -> PeriodFacts:
    """The period's facts of the units in ``scope`` and below: their units, the cases they hold
    (or registered, before routing), and the incidents attributed to them."""
    units: Mapping[str, Placed] = {u.unit: u for u in facts.units}
    return msgspec.structs.replace(
        facts,
        units=[u for u in facts.units if within(u.unit, scope, units)],
        cases=[c for c in facts.cases if within(c.unit or c.registered_by, scope, units)],
        incidents=[i for i in facts.incidents if within(i.village or i.township, scope, units)],
    )
