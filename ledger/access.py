"""Who may do what: the one access policy, asked by every entry point.

The API, the web pages, the command line, batch imports, reports, appraisals, exports and the
live feed all ask this module; nothing else holds a role table. A refused request writes
nothing and reveals nothing: a case the caller may not see is answered exactly as a case that
does not exist.

* **Reading cases.** ``inspector`` (纪检监察) and the local ``operator`` see every case. Every
  other role sees a case that concerns its unit or a unit below it (the registering unit, the
  responsible unit, the 属地 township, a unit under a 督办 order on it), or whose 包案 leader
  it is.
* **检举 confidentiality** (C22 art 30 ¶3, art 46(5)). A case accusing a unit or an official is
  invisible to that official, to that unit and to every unit below it — to every role, the
  inspector's included — by URL, by search, in reports, in the feed and in identities.
* **Writing.** ``inspector`` and ``appraiser`` write nothing. Every other role issues the
  commands of :data:`COMMAND_ROLES`, on cases it can see; facts that are not cases (letters,
  decisions, disputes…) only for units in its own subtree.
* **Petitioner identities.** An identity belongs to the unit that registered the first case
  naming the reference (its *holder*): only that unit or a unit above it may write it first, so
  naming somebody else's reference in a new case grants nothing. It may be read, for a stated
  purpose, by the 纪检监察 side, by the holder and the units above it, and by whoever can see a
  non-检举 case naming the reference that the holder (or a unit above it) registered — never by
  anyone a 检举 case naming the reference accuses. Erasure is for the holder or an ``admin`` above
  it. Every write and every read is an event (:mod:`ledger.identities`).
* **Reports.** ``admin``, ``inspector``, ``appraiser`` and ``operator`` read any unit's figures;
  everyone else their own unit's and those below. The 检举 cases a reader may not see are
  withheld from every list of cases they are shown; a signed appraisal lists no 检举 case at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

from ledger.errors import Forbidden, InvalidInput, NotFound, Refused
from ledger.projections.queries import CaseFilter, CaseScope, Identity, ReadModel, Scope, UnitRow
from schemas import events as ev
from schemas.commands import COMMANDS_BY_NAME, Command
from schemas.common import ROLE_NAMES, Actor
from schemas.events import Envelope
from schemas.views import CaseSummary, OfficialView, OverdueBoard, UnitView

READ_ALL = frozenset({"inspector", "operator"})
"""See every case (except one accusing them)."""
READ_ONLY = frozenset({"inspector", "appraiser"})
"""Write nothing."""
WHOLE_LEDGER_REPORTS = frozenset({"admin", "inspector", "appraiser", "operator"})
"""Read any unit's reports; every other role its own unit's and those below."""
AWARD_READERS = frozenset({"admin", "leader", "inspector", "appraiser", "operator"})
APPRAISERS = frozenset({"appraiser", "inspector", "admin", "operator"})
IMPORTERS = frozenset({"admin", "clerk", "operator"})
MIGRATORS = frozenset({"admin", "operator"})
"""Import history under a declared migration (its entries are not 补录, and may name the source's actor)."""
TOKEN_ADMINS = frozenset({"admin", "operator"})
EXPORTERS = frozenset({"operator", "inspector"})
"""Export the whole log (every event, the hidden ones included): for offline verification."""
ERASURE_FINISHERS = frozenset({"admin", "operator"})
"""Purge what pending erasures left in the database files (no new key is destroyed)."""
MAINTAINERS = frozenset({"operator"})
"""Rebuild projections and issue the demo's tokens: the server's own operator."""
IDENTITY_ROLES = frozenset({"clerk", "handler", "leader", "admin", "operator"})
"""Roles that may take down or read a petitioner's identity at all (``inspector`` reads too)."""
SERVER_ONLY = frozenset({"RecordIdentityRead", "RecordIdentity"})
"""Written by the ledger itself when an identity is read or stored, never sent by a client."""
VIA_ERASURE = frozenset({"EraseIdentity"})
"""Only through an erasure, which destroys the vault key in the same step."""

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
_ANY = set(COMMANDS_BY_NAME) - SERVER_ONLY - VIA_ERASURE

COMMAND_ROLES: dict[str, frozenset[str]] = {
    name: frozenset(
        role
        for role, allowed in (("clerk", _CLERK), ("handler", _HANDLER), ("leader", _LEADER), ("admin", _ANY),
                              ("operator", _ANY))
        if name in allowed
    )
    for name in COMMANDS_BY_NAME
}
"""Command name → roles that may issue it (``inspector`` and ``appraiser`` never)."""

IdentityAction = Literal["read", "write", "erase"]


def require_role(actor: Actor, roles: Iterable[str], what: str) -> None:
    """Raise :class:`Forbidden` unless ``actor``'s role is one of ``roles``."""
    allowed = frozenset(roles)
    if actor.role not in allowed:
        names = "、".join(ROLE_NAMES[r] for r in sorted(allowed))
        raise Forbidden(f"{what}仅限{names}；你的角色是{ROLE_NAMES.get(actor.role, actor.role)}", code="forbidden")


class Viewer:
    """An actor as the policy sees them, resolved once per request: their unit's place in the tree."""

    __slots__ = ("actor", "chain", "high", "low", "scope")

    def __init__(self, actor: Actor, unit: UnitRow | None) -> None:
        self.actor = actor
        self.chain: tuple[str, ...] = unit.chain if unit is not None else (actor.unit,)
        self.low, self.high = unit.subtree() if unit is not None else ("", "")
        hidden = tuple(sorted({*self.chain, actor.id}))
        self.scope = Scope(everything=actor.role in READ_ALL, low=self.low, high=self.high, leader=actor.id,
                           hidden=hidden)

    @property
    def role(self) -> str:
        return self.actor.role

    def covers(self, unit: UnitRow | None) -> bool:
        """Whether ``unit`` is the viewer's unit or lies below it."""
        return unit is not None and self.low <= unit.path < self.high

    def accused_in(self, case: CaseScope) -> bool:
        return not set(case.accused).isdisjoint(self.scope.hidden)


class Access:
    """The policy over one ledger's read model."""

    def __init__(self, read: ReadModel) -> None:
        self.read = read

    def viewer(self, actor: Actor) -> Viewer:
        """The actor with their unit resolved; brings the read model up to date first."""
        self.read.sync()
        return Viewer(actor, self.read.unit(actor.unit))

    # ── cases ────────────────────────────────────────────────────────────────

    def require_case(self, viewer: Viewer, number: str) -> CaseScope:
        """The case, or :class:`NotFound` — the same answer whether it is missing or hidden."""
        case = self.read.case(number)
        if case is None or not self.read.visible(viewer.scope, number):
            raise NotFound(f"案件 {number} 不存在", code="unknown_case", case=number)
        return case

    def search(self, viewer: Viewer, wanted: CaseFilter, today: date, *, limit: int, offset: int
               ) -> tuple[int, list[CaseSummary]]:
        return self.read.search(viewer.scope, wanted, today, limit=limit, offset=offset)

    def overdue(self, viewer: Viewer, on: date, *, unit: str | None, limit: int) -> OverdueBoard:
        return self.read.overdue(viewer.scope, on, unit=unit, limit=limit)

    def stage_counts(self, viewer: Viewer) -> dict[str, int]:
        return self.read.stage_counts(viewer.scope)

    # ── commands ─────────────────────────────────────────────────────────────

    def require_command(self, viewer: Viewer, command: Command, *, created: frozenset[str] = frozenset()) -> None:
        """Raise why ``viewer`` may not issue ``command``; the ledger still decides whether it may happen.

        A case the viewer may not see is refused as the ledger refuses one that does not exist,
        whether it is the command's own case or one it refers to. ``created``: cases the viewer
        registered earlier in the same batch (not yet in the read model).
        """
        name = type(command).__name__
        if name in SERVER_ONLY:
            raise Forbidden(f"「{name}」由服务器自动记录，不能由客户端提交", code="forbidden")
        if name in VIA_ERASURE:
            raise Forbidden("销毁身份信息请使用销毁操作（接口 DELETE /api/petitioners/{编号} 或 xinfang petitioner "
                            "erase）：身份密钥须在同一步骤中销毁", code="forbidden")
        if viewer.role in READ_ONLY:
            raise Forbidden(f"{ROLE_NAMES[viewer.role]}只能查阅，不能写入", code="forbidden")
        if viewer.role not in COMMAND_ROLES.get(name, frozenset()):
            raise Forbidden(f"{ROLE_NAMES.get(viewer.role, viewer.role)}不能执行「{name}」", code="forbidden")
        event_type = command.event
        if event_type.aggregate == "case" and event_type.key_field is None:
            if command.case not in created:  # type: ignore[attr-defined]
                self.require_case(viewer, command.case)  # type: ignore[attr-defined]
            return
        if event_type is ev.PetitionRegistered:
            self._require_references(viewer, {"repeat_of": [command.repeat_of]})  # type: ignore[attr-defined]
            return
        self._require_fact_command(viewer, command)

    def _require_references(self, viewer: Viewer, fields: dict[str, list[str | None]]) -> None:
        for field, numbers in fields.items():
            for number in numbers:
                if number and not self.read.visible(viewer.scope, number):
                    raise Refused(f"案件 {number} 不存在（字段 {field}）：请先登记", code="unknown_reference", field=field)

    def _require_fact_command(self, viewer: Viewer, command: Command) -> None:
        event_type = command.event
        key = str(getattr(command, event_type.key_field or "", "") or "")
        record = self.read.record(event_type.aggregate, key)
        self._require_references(viewer, {
            "cases": list(getattr(command, "cases", [])),
            "case": [getattr(command, "case", None)],
        })
        if viewer.scope.everything:
            return
        if isinstance(command, COMMANDS_BY_NAME["RegisterUnit"]) and command.parent is None:  # type: ignore[attr-defined]
            if command.code != viewer.actor.unit:  # type: ignore[attr-defined]
                raise Forbidden("只能登记本单位或本单位下级单位", code="forbidden")
            return
        created = record.event if record is not None else _probe(command)
        for unit in self._fact_units(created):
            if not viewer.covers(self.read.unit(unit)):
                raise Forbidden(f"单位 {unit} 不存在或不在本单位（{viewer.actor.unit}）管辖范围内", code="forbidden")

    def _fact_units(self, created: ev.Event | None) -> list[str]:
        """The units a fact concerns: whoever writes about it must hold them."""
        match created:
            case ev.UnitRegistered():
                return [created.parent or created.code]
            case ev.OfficialRegistered() | ev.LeaderReceptionHeld():
                return [created.unit]
            case ev.RecommendationIssued():
                return [created.to_unit]
            case ev.AccountabilityDecided():
                official = self.read.official(created.official) if created.official else None
                return [u for u in (created.unit, official.unit if official else created.official) if u]
            case ev.DisputeFound() | ev.IncidentRecorded():
                return [created.township]
        return []

    # ── units, officials, reports ────────────────────────────────────────────

    def units(self, viewer: Viewer) -> list[UnitView]:
        """The viewer's unit, the units below it and the chain above it (every unit for READ_ALL)."""
        if viewer.scope.everything:
            rows = self.read.units()
        else:
            rows = [u for u in self.read.units() if viewer.covers(u) or u.code in viewer.chain]
        return [self.read.unit_view(u) for u in rows]

    def unit(self, viewer: Viewer, code: str) -> UnitView:
        row = self.read.unit(code)
        if row is None or not (viewer.scope.everything or viewer.covers(row) or code in viewer.chain):
            raise NotFound(f"单位 {code} 不存在", code="unknown_unit")
        return self.read.unit_view(row)

    def officials(self, viewer: Viewer, unit: str | None = None) -> list[OfficialView]:
        if unit is not None:
            row = self.read.unit(unit)
            if row is None or not (viewer.scope.everything or viewer.covers(row)):
                return []
            low, high = row.subtree()
        elif viewer.scope.everything:
            low, high = "/", "0"
        else:
            low, high = viewer.low, viewer.high
        return self.read.officials(low, high)

    def official(self, viewer: Viewer, code: str) -> OfficialView:
        found = self.read.official(code)
        if found is None or not (viewer.scope.everything or code == viewer.actor.id
                                 or viewer.covers(self.read.unit(found.unit))):
            raise NotFound(f"干部 {code} 不存在", code="unknown_official")
        return found

    def report_unit(self, viewer: Viewer, unit: str | None) -> str | None:
        """The unit a report is for: any (or the whole ledger) for :data:`WHOLE_LEDGER_REPORTS`, else
        the viewer's own (by default) or one below it."""
        if unit is not None and self.read.unit(unit) is None:
            raise InvalidInput(f"单位 {unit} 不存在：请用单位编码（见单位列表）", code="unknown_unit")
        if viewer.role in WHOLE_LEDGER_REPORTS:
            return unit
        if unit is None:
            return viewer.actor.unit
        if not viewer.covers(self.read.unit(unit)):
            raise Forbidden(f"单位 {unit} 不在本单位（{viewer.actor.unit}）管辖范围内：只能查看本单位及下级单位的报告",
                            code="forbidden")
        return unit

    def withheld(self, viewer: Viewer) -> frozenset[str]:
        """The 检举 cases left out of whatever the viewer is shown (those accusing them or a unit above them)."""
        return self.read.hidden_numbers(viewer.scope.hidden)

    def withheld_from_everyone(self) -> frozenset[str]:
        """What a signed appraisal leaves out of its lists: a document for all lists no 检举 case."""
        return self.read.accusing_numbers()

    # ── the live feed and proofs by position ─────────────────────────────────

    def event_visible(self, viewer: Viewer, envelope: Envelope) -> bool:
        event = envelope.event
        if event.aggregate == "case":
            number = event.number if isinstance(event, ev.PetitionRegistered) else \
                self.read.case_number_of(str(envelope.originator_id))
            return number is not None and self.read.visible(viewer.scope, number)
        if event.aggregate in ("petitioner", "identity_read"):
            return viewer.scope.everything  # the audit trail of personal data is the 纪检监察 side's
        if isinstance(event, ev.BacklogBatchListed | ev.BacklogCaseResolved):
            record = self.read.record("batch", event.batch)
            listed = record.event if record is not None else event
            numbers = getattr(listed, "cases", [])
            return bool(numbers) and all(self.read.visible(viewer.scope, n) for n in numbers)
        if viewer.scope.everything:
            return True
        if isinstance(event, ev.UnitRegistered):
            return viewer.covers(self.read.unit(event.code)) or event.code in viewer.chain
        key = str(getattr(event, event.key_field or "", "") or "")
        record = self.read.record(event.aggregate, key)
        units = self._fact_units(record.event if record is not None else event)
        return any(viewer.covers(self.read.unit(u)) for u in units)

    # ── petitioner identities ────────────────────────────────────────────────

    def require_identity(self, viewer: Viewer, ref: str, action: IdentityAction, *, case: str | None = None,
                         purpose: str = "") -> Identity:
        """Raise unless ``viewer`` may read, write or erase ``ref``'s identity; else what is known of it.

        404 (as for a reference that does not exist) unless the viewer holds the identity or can
        see a case naming it — and always for anyone a 检举 case naming it accuses; 403 when the
        viewer knows the reference but may not do this with it.
        """
        identity = self.read.identity(ref)
        if viewer.role not in IDENTITY_ROLES | {"inspector"}:
            raise Forbidden(f"{ROLE_NAMES.get(viewer.role, viewer.role)}不能查阅或登记信访人身份信息", code="forbidden")
        unknown = NotFound(f"信访人 {ref} 不存在", code="unknown_petitioner")
        if any(viewer.accused_in(c) for c in identity.cases if c.accused):
            raise unknown
        if case is not None and case not in {c.number for c in identity.cases}:
            raise unknown
        holder = identity.holder or identity.origin
        paths = {u.code: u for u in self.read.units([holder or "", *(c.registered_by for c in identity.cases)])}
        holds = viewer.scope.everything or viewer.covers(paths.get(holder or ""))
        if not (holds or any(self.read.visible(viewer.scope, c.number) for c in identity.cases)):
            raise unknown
        if action == "write":
            if viewer.role == "inspector":
                raise Forbidden("纪检监察人员只能查阅信访人身份信息，不能登记或修改", code="forbidden")
            if not holds:
                raise Forbidden(f"信访人 {ref} 的身份信息只能由持有单位（登记首件相关案件的单位）及其上级单位登记或修改",
                                code="forbidden")
        elif action == "erase":
            at_holder = viewer.actor.unit == holder and viewer.role in {"clerk", "leader", "admin"}
            if not (viewer.role == "operator" or at_holder or (viewer.role == "admin" and holds)):
                raise Forbidden(f"销毁信访人 {ref} 的身份信息须由持有单位或其上级单位的管理员办理", code="forbidden")
        else:
            if not purpose.strip():
                raise InvalidInput("查阅信访人身份信息须说明目的（记入账本）", code="purpose_required")
            if not (holds or self._read_through_case(viewer, identity, holder, paths, case)):
                raise Forbidden(f"你所在单位不能查阅信访人 {ref} 的身份信息：可由持有单位及其上级、纪检监察，"
                                "或办理持有单位所登记案件的单位查阅", code="forbidden")
        return identity

    def _read_through_case(self, viewer: Viewer, identity: Identity, holder: str | None,
                           paths: dict[str, UnitRow], case: str | None) -> bool:
        """A visible, non-检举 case naming the reference, registered by the holder or a unit above it."""
        held = paths.get(holder or "")
        for c in identity.cases:
            if case is not None and c.number != case:
                continue
            registrar = paths.get(c.registered_by)
            by_holder_side = held is not None and registrar is not None and held.path.startswith(registrar.path)
            if by_holder_side and "检举" not in c.flags and not c.accused and self.read.visible(viewer.scope, c.number):
                return True
        return False

    def holder_for_first_write(self, identity: Identity) -> str:
        """Who holds an identity written for the first time: the unit that registered the first case naming it."""
        assert identity.origin is not None
        return identity.origin


def _probe(command: Command) -> ev.Event | None:
    """The event a fact command would create, to read the units it names (None if it cannot be built)."""
    fields = {f: getattr(command, f) for f in command.event.__struct_fields__ if hasattr(command, f)}
    try:
        return command.event(**fields)
    except (TypeError, ValueError):
        return None
