"""The national baseline: time limits of 《信访工作条例》 (C22, in force 2022-05-01)."""

from __future__ import annotations

from ledger.hooks import hookimpl
from schemas.rules import TimeLimit

__version__ = "2022.05.01"

TIME_LIMITS = [
    TimeLimit(step="route", label="登记后转送、交办或告知", days=15, day_type="natural",
              basis="C22 第22条", starts="received_on", stops=("routed_on",)),
    TimeLimit(step="accept", label="决定是否受理并书面告知", days=15, day_type="natural",
              basis="C22 第23条", starts="routed_on", stops=("accepted_on", "refused_on")),
    TimeLimit(step="objection", label="提出管辖异议", days=5, day_type="working",
              basis="C22 第23条", starts="routed_on", kind="window"),
    TimeLimit(step="decide", label="受理后出具处理意见", days=60, day_type="natural",
              basis="C22 第34条", starts="accepted_on", stops=("decided_on",), extendable=True),
    TimeLimit(step="review_request", label="申请复查", days=30, day_type="natural",
              basis="C22 第35条", starts="served_on", kind="window"),
    TimeLimit(step="review_decide", label="出具复查意见", days=30, day_type="natural",
              basis="C22 第35条", starts="review_requested_on", stops=("review_decided_on",)),
    TimeLimit(step="rereview_request", label="申请复核", days=30, day_type="natural",
              basis="C22 第36条", starts="review_decided_on", kind="window"),
    TimeLimit(step="rereview_decide", label="出具复核意见", days=30, day_type="natural",
              basis="C22 第36条（听证时间不计入）", starts="rereview_requested_on",
              stops=("rereview_decided_on",), paused_by_hearing=True),
]


@hookimpl(trylast=True)
def xinfang_time_limits() -> list[TimeLimit]:
    return TIME_LIMITS
