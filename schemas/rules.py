"""Rule contracts shared by the core and plugins: time limits and the clocks derived from them."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

DayType = Literal["natural", "working"]

MILESTONES = (
    "received_on",
    "routed_on",
    "accepted_on",
    "refused_on",
    "decided_on",
    "served_on",
    "review_requested_on",
    "review_decided_on",
    "rereview_requested_on",
    "rereview_decided_on",
    "concluded_on",
)
"""Case dates a clock may start or stop on (fields of the case state)."""

Milestone = Literal[
    "received_on",
    "routed_on",
    "accepted_on",
    "refused_on",
    "decided_on",
    "served_on",
    "review_requested_on",
    "review_decided_on",
    "rereview_requested_on",
    "rereview_decided_on",
    "concluded_on",
]


class TimeLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A time limit: which milestone starts it, which stop it, how long, and why.

    ``duty`` limits bind the office (missing one is 超期); ``window`` limits bound the
    petitioner or the unit's own objections (a late request is refused); ``target``
    limits are local goals reported as warnings beside the statutory ones.
    """

    step: str
    label: str
    days: int
    day_type: DayType
    basis: str
    starts: Milestone
    stops: tuple[Milestone, ...] = ()
    kind: Literal["duty", "window", "target"] = "duty"
    extendable: bool = False
    paused_by_hearing: bool = False


class Clock(msgspec.Struct, frozen=True, kw_only=True):
    """A time limit applied to one case."""

    step: str
    label: str
    kind: str
    basis: str
    started_on: date
    due: date
    provisional: bool
    stopped_on: date | None
    days_late: int
    """Days past due: when stopped late, or still running past due on the reference day."""

    @property
    def overdue(self) -> bool:
        return self.days_late > 0
