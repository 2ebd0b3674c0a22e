"""The case moves 《信访工作条例》 (C22) allows, written down by hand: the tests' own oracle.

Deliberately not derived from ``ledger.domain.case.TRANSITIONS`` (the table under test): a move
added to or dropped from that table by mistake must make a test fail. ``MOVES[stage]`` maps every
command allowed in ``stage`` to the stage it leads to (``None``: the stage stays).
"""

from __future__ import annotations

ALWAYS = {"OrderSupervision": None, "AnswerSupervision": None, "AssignLeader": None, "CorrectEvent": None}
"""督办 (C22 art 40), its answer, 领导包案 and 更正 apply to any open case."""
HANDLING = {"RecordInvestigation": None, "StartHearing": None, "EndHearing": None, "RecordSettlement": None}
"""调查核实, 听证, 调解和解: while a decision, a review or a re-review is being worked on."""
RATING = {"RateSatisfaction": None, "ExpireRating": None}
"""满意度评价 once a decision has been served, until the file is archived."""
ROUTED_AWAY = {"ConcludeCase": "已办结", "ArchiveCase": "已归档"}
"""告知, 导入法定途径, 转交 or 不予受理: the item has left 信访 handling; only closing the file remains."""
AFTER_CONCLUSION = {"RequestReview": "复查中", "RequestReReview": "复核中", "BarFurtherPetitions": None,
                    "RecordFollowUp": None, "ArchiveCase": "已归档"}
"""After 办结 the petitioner may still ask for 复查 / 复核 within the windows (C22 art 35-36); 回访, 归档."""

MOVES: dict[str, dict[str, str | None]] = {
    "已登记": {"ForwardCase": "待受理", "AssignCase": "待受理", "RedirectPetitioner": "已告知",
            "RouteToStatutoryChannel": "已导入法定途径", "ReferCase": "已转交", **ALWAYS},  # C22 art 22
    "待受理": {"AcceptCase": "办理中", "RefuseAcceptance": "不予受理", "ObjectToJurisdiction": "管辖异议中",
            "RouteToStatutoryChannel": "已导入法定途径", "ReferCase": "已转交", **ALWAYS},  # C22 art 23
    "管辖异议中": {"ResolveJurisdictionObjection": "待受理", **ALWAYS},
    "已告知": {**ROUTED_AWAY, **ALWAYS},
    "已导入法定途径": {**ROUTED_AWAY, **ALWAYS},
    "已转交": {**ROUTED_AWAY, **ALWAYS},
    "不予受理": {**ROUTED_AWAY, **ALWAYS},
    "办理中": {**HANDLING, "ExtendDeadline": None, "IssueDecision": "已出具意见", **ALWAYS},  # C22 art 33-34
    "已出具意见": {"ServeDecision": "已送达", **ALWAYS},
    "已送达": {**RATING, "RequestReview": "复查中", "ConcludeCase": "已办结", **ALWAYS},  # C22 art 35
    "复查中": {**HANDLING, **RATING, "DecideReview": "已复查", **ALWAYS},
    "已复查": {**RATING, "RequestReReview": "复核中", "ConcludeCase": "已办结", **ALWAYS},  # C22 art 36
    "复核中": {**HANDLING, **RATING, "DecideReReview": "已复核", **ALWAYS},
    "已复核": {**RATING, "BarFurtherPetitions": None, "ConcludeCase": "已办结", **ALWAYS},
    "已办结": {**RATING, **AFTER_CONCLUSION, "CertifyConclusion": "已认定办结", **ALWAYS},
    "已认定办结": {**RATING, **AFTER_CONCLUSION, **ALWAYS},
    "已归档": {"CorrectEvent": None},
}

AFTER_BAR = {"ConcludeCase", "CertifyConclusion", "RecordFollowUp", "ArchiveCase", "CorrectEvent",
             "RateSatisfaction", "ExpireRating"}
"""After 不再受理 (C22 art 36) the same facts are not taken up again: only closing the file, and the rating."""

GUARDED = {
    "ObjectToJurisdiction",  # within 5 working days of receipt (C22 art 23)
    "StartHearing", "EndHearing",  # one hearing at a time
    "ExtendDeadline",  # once, with the petitioner told (C22 art 34)
    "IssueDecision", "DecideReview", "DecideReReview",  # not while a hearing is open
    "RateSatisfaction", "ExpireRating",  # once per rated party
    "RequestReview", "RequestReReview",  # once, within 30 days, after a served decision or review (C22 art 35-36)
    "BarFurtherPetitions",  # once, after a re-review is decided
    "OrderSupervision", "AnswerSupervision",  # order numbers are unique; an answer names an open order
    "CorrectEvent",  # names an existing version
}
"""Legal moves that rules on dates and history may still refuse (``rule_violation``); every other
legal move must succeed."""
