"""Award evaluation: the period's facts judged by the award plugins, sorted, totalled and bound.

The report names the period, the knowledge time, the length of the log prefix and the
rule-set fingerprint it was derived from; :func:`ledger.canonical.canonical_json` gives its bytes, which
are the same for the same events and the same fingerprint.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.facts import period_facts
from schemas.facts import Period, PeriodFacts
from schemas.rules import AwardReport

if TYPE_CHECKING:
    from ledger.application import Ledger
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


def award_report(ledger: Ledger, period: Period, *, as_of: datetime | None = None) -> AwardReport:
    """The awards of ``period`` from the ledger's log (up to ``as_of``) under its rule set."""
    return evaluate_awards(period_facts(ledger, period, as_of=as_of), ledger.rules)

