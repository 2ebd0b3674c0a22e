"""Everything the pages read that belongs to the access policy and the read model — in one place.

No page decides who may see what: these functions ask the core's access policy
(:mod:`ledger.access`) and read the SQL read model on the projection tables, as the JSON API does,
so a page never shows more than the API would.
"""

from __future__ import annotations

from api.cases.controllers import visible_case
from api.context import ApiContext
from api.integrity.controllers import integrity
from schemas.common import Actor
from schemas.proofs import CaseProof
from schemas.views import CaseView, TimelineEntry


def unit_name(ctx: ApiContext, code: str | None) -> str:
    """The registered name of a unit (its code when it has none)."""
    if code is None:
        return ""
    return ctx.read.names([code]).get(code, code)


def case_view(ctx: ApiContext, actor: Actor, number: str) -> CaseView:
    """The case as the actor may see it (404 when it does not exist or is not theirs to see)."""
    visible_case(ctx, actor, number)
    return ctx.ledger.case_view(number, today=ctx.today())


def timeline(ctx: ApiContext, actor: Actor, number: str) -> list[TimelineEntry]:
    visible_case(ctx, actor, number)
    return ctx.ledger.timeline(number)


def case_proof(ctx: ApiContext, actor: Actor, number: str, size: int | None) -> CaseProof:
    """Every event of a visible case, with its stored payload, proven against the tree of ``size``."""
    visible_case(ctx, actor, number)
    return integrity(ctx).proofs.case_proof(number, size)
