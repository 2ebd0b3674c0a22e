"""Award evaluation: the period's facts judged by the award plugins, sorted, totalled and bound.

The report names the period, the knowledge time, the length of the log prefix and the
rule-set fingerprint it was derived from; :func:`ledger.canonical.canonical_json` gives its bytes, which
are the same for the same events and the same fingerprint.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from ledger.projections.reports import Inputs, Snapshot
from ledger.projections.runner import Projector
from schemas.facts import Period, PeriodFacts
from schemas.rules import AwardReport

if TYPE_CHECKING:
    from ledger.rules import RuleSet


def evaluate_awards(facts: PeriodFacts, rules: RuleSet) -> AwardReport:
    """Every plugin's verdicts on ``facts``: by title (in the order plugins name them), then unit."""
    verdicts = rules.awards(facts)
    rank: dict[str, int] = {}
    for verdict in verdicts:
        rank.setdefault(verdict.title, len(rank))
    verdicts.sort(key=lambda v: (rank[v.title], v.unit, v.plugin))
    return AwardReport(
        period=facts.period.label, start=facts.period.start, end=facts.period.end, as_of=facts.as_of,
        tree_size=facts.tree_size, rules_fingerprint=facts.rules_fingerprint, verdicts=verdicts,
        total=sum(v.amount for v in verdicts if v.passed),
    )


def award_report(projector: Projector, period: Period, *, as_of: datetime | None = None,
                 today: date | None = None) -> AwardReport:
    """The awards of ``period`` from the state of the log prefix ``as_of`` selects, under the projector's rule set."""
    snapshot = Snapshot(projector, Inputs(period=period, as_of=as_of, today=today))
    return evaluate_awards(snapshot.facts_under(projector.rules), projector.rules)

