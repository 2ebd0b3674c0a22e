"""Live feed: new events as server-sent events, scoped like every other read, resumable by seq.

Each message has ``id: <seq>`` so a reconnecting ``EventSource`` resumes by itself
(``Last-Event-ID``); ``from_seq`` starts anywhere. The stream follows the log for ``wait``
seconds (a comment every ``KEEPALIVE`` seconds keeps proxies from closing it), then ends and
clients reconnect. The token is checked again at every poll: a revoked or expired token ends
its open streams within the token cache's few seconds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.context import ApiContext
from api.problems import responses
from ledger.codec import decode_envelope
from schemas.common import Actor
from schemas.views import FeedEvent

POLL_SECONDS = 0.5
KEEPALIVE = 15.0
BATCH = 500


def _visible_rows(ctx: ApiContext, token: str, position: int) -> tuple[list[ServerSentEventMessage], int] | None:
    """The next events the token's actor may see, and the position after them; None once the token is
    revoked or expired (checked at every poll, so a revoked token's stream ends within seconds)."""
    actor = ctx.actor_for(token)
    if actor is None:
        return None
    rows = ctx.ledger.recorder.select_events_by_seq(position, BATCH)  # type: ignore[attr-defined]
    if not rows:
        return [], position
    viewer = ctx.viewer(actor)
    messages = []
    for row in rows:
        envelope = decode_envelope(row.state)
        event = envelope.event
        if not ctx.access.event_visible(viewer, envelope):
            continue
        key = ctx.read.case_number_of(str(envelope.originator_id)) if event.aggregate == "case" else (
            str(getattr(event, event.key_field or "", "")) or None)
        data = FeedEvent(seq=row.seq, type=type(event).__name__, aggregate=event.aggregate, key=key,
                         version=envelope.originator_version, occurred_at=envelope.occurred_at,
                         recorded_at=envelope.recorded_at, actor=envelope.actor, command_id=envelope.command_id)
        messages.append(ServerSentEventMessage(data=msgspec.json.encode(data).decode(), event=data.type, id=row.seq))
    return messages, rows[-1].seq + 1


class FeedController(Controller):
    path = "/feed"
    tags = ["动态 feed"]

    @get(
        "/",
        summary="新事件推送（SSE）",
        description="text/event-stream：每条消息 id 为事件序号 seq，event 为事件类型，data 为 JSON。"
        "从 from_seq（或 Last-Event-ID 之后）开始，跟随 wait 秒后结束，客户端重连即可续传。"
        "只推送你可见的案件和对象的事件。",
        media_type="text/event-stream",
        responses=responses(400, 401),
    )
    async def feed(
        self,
        ctx: NamedDependency[ApiContext],
        request: Request[Actor, str, Any],
        from_seq: Annotated[int | None, QueryParameter(ge=0, le=1 << 50, description="从这个序号开始（含）")] = None,
        last_event_id: Annotated[
            int | None, HeaderParameter(name="Last-Event-ID", ge=0, le=1 << 50, description="断线重连：上次收到的序号")
        ] = None,
        wait: Annotated[int, QueryParameter(ge=0, le=300, description="跟随秒数；0 表示只发已有事件")] = 25,
    ) -> ServerSentEvent:
        token = request.auth
        if from_seq is not None:
            start = from_seq
        elif last_event_id is not None:
            start = last_event_id + 1
        else:
            start = await anyio.to_thread.run_sync(ctx.ledger.recorder.tree_size)  # type: ignore[attr-defined]

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            position = start
            deadline = time.monotonic() + wait
            last_sent = time.monotonic()
            while True:
                found = await anyio.to_thread.run_sync(_visible_rows, ctx, token, position)
                if found is None:
                    return
                messages, moved = found
                for message in messages:
                    yield message
                now = time.monotonic()
                if messages:
                    last_sent = now
                if moved != position:
                    position = moved
                    continue
                if now >= deadline:
                    return
                if now - last_sent >= KEEPALIVE:
                    last_sent = now
                    yield ServerSentEventMessage(comment="keepalive", data=None)
                await anyio.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))

        return ServerSentEvent(stream(), retry_duration=1000)
