"""Who may do what: roles, unit scope and 检举 confidentiality, in one place.

The rules, as the API applies them (the role/scope matrix test reads the same tables):

* **Reading.** An ``inspector`` (纪检监察) reads every case. Everyone else sees a case when one of
  its units — the registering unit, the current responsible unit, the home township, a unit under
  a 督办 order on it — is their own unit or lies below it, or when they are its 包案 leader.
* **检举 confidentiality.** A case flagged 检举 is invisible to every unit and official it accuses
  (``accused``), and to units below an accused unit, whatever else would make it visible; only the
  inspector is exempt. Invisible means 404, as if the case did not exist.
* **Writing.** ``inspector`` and ``appraiser`` write nothing (403). The other roles may issue the
  commands of :data:`COMMAND_ROLES` (403 otherwise), on cases they can see (404 otherwise), and
  non-case commands only for target units inside their own subtree (403 otherwise).
* **Petitioner identity.** Only ``clerk``, ``handler`` and ``leader`` read or store identities,
  only for petitioners of a case they can see; every disclosure is recorded as an
  :class:`~schemas.events.IdentityRead` event. Erasure is ``admin`` only.
* **Server-only commands.** ``RecordIdentityRead`` is written by the server, never by a client;
  ``EraseIdentity`` goes through ``DELETE /api/petitioners/{ref}`` so that the vault key is
  destroyed in the same step.
* **Migration.** ``DeclareMigration`` and imports under a declared migration
  (``POST /api/imports?migration=…``, whose lines may name the source system's ``original_actor``)
  are ``admin`` only; the core refuses them from anyone else too.
* The actor recorded in every event is the token's; a command cannot name one (a migrated line's
  ``original_actor`` is recorded beside it, never instead of it).
"""

from __future__ import annotations

from collections.abc import Iterable

from api.index import LogIndex
from ledger.domain.case import Case
from ledger.domain.records import Record
from schemas import events as ev
from schemas.commands import COMMANDS_BY_NAME, Command
from schemas.common import Actor
from schemas.events import Envelope

READ_ALL = frozenset({"inspector"})
READ_ONLY = frozenset({"inspector", "appraiser"})
IDENTITY_READERS = frozenset({"clerk", "handler", "leader"})
ADMIN = frozenset({"admin"})
SERVER_ONLY = frozenset({"RecordIdentityRead"})
VIA_PETITIONER_ENDPOINT = frozenset({"EraseIdentity"})

_CLERK = {
    "RegisterPetition", "ForwardCase", "AssignCase", "RedirectPetitioner", "RouteToStatutoryChannel",
    "ReferCase", "ResolveJurisdictionObjection", "RequestReview", "RequestReReview", "RateSatisfaction",
    "ExpireRating", "ConcludeCase", "CertifyConclusion", "RecordFollowUp", "ArchiveCase", "OrderSupervision",
    "IssueRecommendation", "RecordIncident", "HoldLeaderReception", "ListBacklogBatch", "RecordDispute",
    "CorrectEvent",
}  # fmt: skip
_HANDLER = {
    "AcceptCase", "RefuseAcceptance", "ObjectToJurisdiction", "RecordInvestigation", "StartHearing",
    "EndHearing", "RecordSettlement", "ExtendDeadline", "IssueDecision", "ServeDecision", "DecideReview",
    "DecideReReview", "BarFurtherPetitions", "ConcludeCase", "AnswerSupervision", "AnswerRecommendation",
    "ResolveBacklogCase", "RecordDispute", "MediateDispute", "ResolveDispute", "RecordIncident", "CorrectEvent",
}  # fmt: skip
_LEADER = _HANDLER | {"AssignLeader", "HoldLeaderReception", "ResolveJurisdictionObjection", "DecideAccountability"}
_ADMIN = set(COMMANDS_BY_NAME) - SERVER_ONLY

COMMAND_ROLES: dict[str, frozenset[str]] = {
    name: frozenset(
        role
        for role, allowed in (("clerk", _CLERK), ("handler", _HANDLER), ("leader", _LEADER), ("admin", _ADMIN))
        if name in allowed
    )
    for name in COMMANDS_BY_NAME
}
"""Command name → roles that may issue it (``inspector`` and ``appraiser`` never)."""


class Decision:
    """Why a request is refused: ``status`` 403 (not allowed) or 404 (not visible)."""

    __slots__ = ("detail", "status")

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


def case_units(case: Case) -> set[str]:
    units = {case.registered_by, case.home_township, *(s.to_unit for s in case.supervision)}
    if case.current_unit:
        units.add(case.current_unit)
    return units


def hidden_as_accused(actor: Actor, case: Case, index: LogIndex) -> bool:
    """A 检举 case is hidden from what it accuses: the officials, the units and units below them."""
    if "检举" not in case.flags or not case.accused or actor.role in READ_ALL:
        return False
    return any(actor.id == accused or index.within(actor.unit, accused) for accused in case.accused)


def can_see_case(actor: Actor, case: Case, index: LogIndex) -> bool:
    if actor.role in READ_ALL:
        return True
    if hidden_as_accused(actor, case, index):
        return False
    if case.leader is not None and case.leader == actor.id:
        return True
    return any(index.within(unit, actor.unit) for unit in case_units(case))


def unit_in_scope(actor: Actor, unit: str | None, index: LogIndex) -> bool:
    return actor.role in READ_ALL or (unit is not None and index.within(unit, actor.unit))


def can_see_unit(actor: Actor, code: str, index: LogIndex) -> bool:
    """Own subtree, plus the chain of units above: a township knows its county."""
    if actor.role in READ_ALL or index.within(code, actor.unit):
        return True
    return code in index.ancestors(actor.unit) or code == actor.unit


def can_see_official(actor: Actor, official: ev.OfficialRegistered, index: LogIndex) -> bool:
    return actor.role in READ_ALL or actor.id == official.code or index.within(official.unit, actor.unit)


def record_units(record: Record | None, event: ev.Event, index: LogIndex) -> list[str | None]:
    """The units a non-case fact concerns, for scoping reads and writes."""
    created = record.created if record is not None else event
    match created:
        case ev.UnitRegistered():
            return [created.code]
        case ev.OfficialRegistered():
            return [created.unit]
        case ev.RecommendationIssued():
            return [created.to_unit]
        case ev.AccountabilityDecided():
            official = index.officials.get(created.official or "")
            return [u for u in (created.unit, official.unit if official else None) if u] or [None]
        case ev.LeaderReceptionHeld():
            return [created.unit]
        case ev.DisputeFound():
            return [created.township]
        case ev.IncidentRecorded():
            return [created.township]
    return [None]


def can_see_event(actor: Actor, envelope: Envelope, case: Case | None, record: Record | None, index: LogIndex) -> bool:
    """Whether one stored event may be shown (live feed, inclusion proof by seq)."""
    event = envelope.event
    if actor.role in READ_ALL:
        return True
    if event.aggregate == "case":
        return case is not None and can_see_case(actor, case, index)
    if isinstance(event, ev.IdentityRead | ev.PetitionerIdentityErased):
        return False  # the audit trail of personal data is the inspector's
    if isinstance(event, ev.UnitRegistered):
        return can_see_unit(actor, event.code, index)
    if isinstance(event, ev.BacklogBatchListed | ev.BacklogCaseResolved):
        created = record.created if record is not None else event
        numbers = getattr(created, "cases", [])
        return bool(numbers) and all(
            (c := index.cases.get(n)) is not None and can_see_case(actor, c, index) for n in numbers
        )
    return any(unit_in_scope(actor, unit, index) for unit in record_units(record, event, index))


def _cases_visible(actor: Actor, numbers: Iterable[str], index: LogIndex) -> Decision | None:
    for number in numbers:
        case = index.cases.get(number)
        if case is not None and not can_see_case(actor, case, index):
            return Decision(404, f"案件 {number} 不存在")
    return None


def check_command(actor: Actor, command: Command, index: LogIndex) -> Decision | None:
    """None when ``actor`` may issue ``command`` (the ledger still decides); else why not.

    Unknown targets are left to the ledger, which refuses them with its own reason (422).
    """
    name = type(command).__name__
    if name in SERVER_ONLY:
        return Decision(403, f"「{name}」由服务器自动记录，不能由客户端提交")
    if name in VIA_PETITIONER_ENDPOINT:
        return Decision(403, "销毁身份信息请使用 DELETE /api/petitioners/{ref}：身份密钥须在同一步骤中销毁")
    if actor.role in READ_ONLY:
        return Decision(403, f"角色 {actor.role} 只能查阅，不能写入")
    if actor.role not in COMMAND_ROLES.get(name, frozenset()):
        return Decision(403, f"角色 {actor.role} 不能执行「{name}」")
    event_type = command.event
    if event_type.aggregate == "case" and event_type.key_field is None:
        case = index.cases.get(command.case)  # type: ignore[attr-defined]
        if case is not None and not can_see_case(actor, case, index):
            return Decision(404, f"案件 {command.case} 不存在")  # type: ignore[attr-defined]
        return None
    if event_type is ev.PetitionRegistered:
        if command.repeat_of:  # type: ignore[attr-defined]
            return _cases_visible(actor, [command.repeat_of], index)  # type: ignore[attr-defined]
        return None
    return _check_record_command(actor, command, index)


def _check_record_command(actor: Actor, command: Command, index: LogIndex) -> Decision | None:
    event_type = command.event
    key = str(getattr(command, event_type.key_field or "", "") or "")
    record = index.record_of(event_type.aggregate, key)
    if isinstance(command, COMMANDS_BY_NAME["RegisterUnit"]):
        parent = command.parent  # type: ignore[attr-defined]
        if parent is None:
            if command.code != actor.unit:  # type: ignore[attr-defined]
                return Decision(403, "只能登记本单位或本单位下级单位")
            return None
        targets: list[str | None] = [parent]
    else:
        fields = {f: getattr(command, f) for f in event_type.__struct_fields__ if hasattr(command, f)}
        probe = record.created if record is not None else event_type(**fields) if _constructible(event_type, fields) else None
        targets = record_units(record, probe, index) if probe is not None else [None]
    cases = [*getattr(command, "cases", []), *([command.case] if getattr(command, "case", None) else [])]  # type: ignore[attr-defined]
    refused = _cases_visible(actor, cases, index)
    if refused is not None:
        return refused
    for unit in targets:
        if unit is None:
            continue
        if unit in index.units and not index.within(unit, actor.unit):
            return Decision(403, f"单位 {unit} 不在本单位（{actor.unit}）管辖范围内")
    return None


def _constructible(event_type: type[ev.Event], fields: dict[str, object]) -> bool:
    try:
        event_type(**fields)
    except (TypeError, ValueError):
        return False
    return True
