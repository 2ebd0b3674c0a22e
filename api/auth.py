"""Bearer tokens → actor (id, unit, role), and the guards that check roles.

The token is looked up by its SHA-256 (see :mod:`ledger.tokens`); the resulting
:class:`~schemas.common.Actor` is ``request.user`` and is the actor recorded in every event
the request writes. Nothing in a request body can name another actor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from api.context import ApiContext
from api.problems import forbidden
from ledger.access import require_role
from ledger.errors import Forbidden
from schemas.common import Actor


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException()
        context: ApiContext = connection.app.state["context"]
        known, actor = context.cached_actor(token)
        if not known:
            actor = await anyio.to_thread.run_sync(context.actor_for, token)
        if actor is None:
            raise NotAuthorizedException()
        return AuthenticationResult(user=actor, auth=token)


auth_middleware = DefineMiddleware(BearerTokenMiddleware)
"""On the ``/api`` router only: the documents (``/schema``, ``/problems``) are public, the pages use sessions."""


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def roles(*allowed: str) -> Guard:
    """A guard admitting only the roles the policy names for a route (403 otherwise)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        try:
            require_role(connection.user, allowed, "此操作")
        except Forbidden as exc:
            raise forbidden(exc.message) from exc

    guard.__name__ = f"roles_{'_'.join(sorted(allowed))}"
    return guard
