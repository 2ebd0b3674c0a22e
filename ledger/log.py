"""Reading the log in commit (``seq``) order, page by page, for export, replay and verification."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.store import LedgerReader, SeqEvent

PAGE = 5000


def iter_log(reader: LedgerReader, start: int = 0, stop: int | None = None, page: int = PAGE) -> Iterator[SeqEvent]:
    """Stored events with ``start <= seq < stop`` (all from ``start`` when ``stop`` is None)."""
    position = start
    while stop is None or position < stop:
        limit = page if stop is None else min(page, stop - position)
        rows = reader.select_events_by_seq(position, limit)
        if not rows:
            return
        yield from rows
        position = rows[-1].seq + 1
