"""The full verifier: recompute every payload hash, leaf, node and root, and find the first damage.

One pass over the log, inside one read snapshot, page by page (pages of ``2**PAGE_BITS``
positions, aligned so that each page is a perfect subtree):

- the leaves in ``seq`` order and the events in the events table's own insertion order are read
  side by side: position ``k`` must hold leaf ``k`` and the event that leaf names, so an event
  row that is missing, extra (forged) or moved shows up at the position where it happens;
- each leaf is rebuilt from its event (``payload_sha256`` over the stored bytes, ``recorded_at``
  and actor from the stored envelope, the event's type) with ``seq = k`` and ``prev`` = the leaf
  hash of the same aggregate's previous event, and compared byte for byte with the stored leaf;
  its hash is recomputed and compared with the stored ``leaf_hash``;
- versions per aggregate are contiguous from 1, ``recorded_at`` never decreases along ``seq``;
- every stored tree node is compared with the node recomputed from the leaves: within a page
  level by level, above it through a :class:`~ledger.merkle.CompactRange` over the
  page roots; nodes beyond the end of the log mean leaves were removed;
- finally the root at every checkpoint's size (those given, and those the ledger stored in
  ``ledger_checkpoints``) is compared with the checkpoint, whose signature is checked first.

Reading runs in a thread ahead of the checks (SQLite and psycopg release the GIL while they
fetch); given a way to reopen the database and a second CPU, the second half of a large log is
verified in a forked process at the same time (:meth:`_Verifier._split`).

The fast path only notices that something is wrong at position ``k``; :meth:`_Verifier._diagnose` then
looks around ``k`` with a few point queries to say *what*: ``payload_changed``, ``leaf_changed``,
``event_missing``, ``reordered``, ``inserted``, ``backdated``, ``node_changed``,
``checkpoint_inconsistent`` or ``checkpoint_signature``.
"""

from __future__ import annotations

import base64
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from hashlib import sha256
from operator import itemgetter
from typing import Any, TypeVar

import msgspec

from ledger.canonical import canonical_json
from ledger.codec import UNREADABLE, decode_envelope
from ledger import merkle
from ledger.integrity import note
from ledger.integrity.tables import Query, Tables, tables_of
from ledger.store.leaves import ZERO_HASH, Head, decode_leaf
from schemas.events import PetitionRegistered
from schemas.integrity import CheckpointCheck, DamageKind, Failure, VerifyReport
from schemas.proofs import Leaf

__all__ = ["KINDS", "PAGE_BITS", "verify"]

PAGE_BITS = 13
PAGE = 1 << PAGE_BITS
SPLIT_MIN_PAGES = 8
"""Logs of at least this many pages are verified in two processes when :func:`verify` can."""

KINDS: dict[DamageKind, str] = {
    "payload_changed": "事件内容被改动",
    "leaf_changed": "叶子被改动",
    "event_missing": "事件缺失（被删除）",
    "reordered": "事件顺序被调换",
    "inserted": "插入了日志之外的事件",
    "backdated": "记录时间被改动（倒签）",
    "node_changed": "树节点被改动",
    "checkpoint_inconsistent": "与检查点不一致（历史被改写）",
    "checkpoint_signature": "检查点签名无效",
}
"""Kinds of damage, with the Chinese name the CLI prints."""

T = TypeVar("T")
Progress = Callable[[Iterable[T], int], Iterable[T]]


class _Damage(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _Suspect(Exception):
    """The fast checks refused a page; ``diagnose()`` says why once the reading thread stopped
    (the diagnosis queries the same connection)."""

    def __init__(self, diagnose: Callable[[], Failure]) -> None:
        super().__init__("damage found")
        self.diagnose = diagnose


class _Head(msgspec.Struct):
    """The envelope fields a leaf repeats; the actor is kept as raw JSON (see :meth:`_Verifier._rows`)."""

    originator_id: str
    originator_version: int
    recorded_at: str
    actor: msgspec.Raw


_decode_head = msgspec.json.Decoder(_Head).decode
_decode_envelope_head = msgspec.json.Decoder(Head).decode
_first = itemgetter(0)
_LEAF = b"\x00"
_NODE = b"\x01"


def verify(
    reader: Any,
    *,
    checkpoints: Sequence[tuple[str, str]] = (),
    verifier_key: str | None = None,
    stored_checkpoints: bool = True,
    progress: Progress[int] | None = None,
    reopen: Callable[[], Any] | None = None,
) -> VerifyReport:
    """Verify the whole log behind ``reader`` (a ledger application recorder).

    ``checkpoints``: ``(source, note text)`` pairs to check the log against; their signatures
    are checked with ``verifier_key`` (signed-note verifier key text), which they need.
    ``stored_checkpoints``: also check those in ``ledger_checkpoints`` (signatures only when a
    key is given). ``progress(pages, total)`` wraps the page iteration (for a progress bar).

    ``reopen``: makes another recorder on the same database. Given one (and a second CPU, and a
    log of at least :data:`SPLIT_MIN_PAGES` pages), the second half of the log is verified in a
    forked process at the same time as the first (see :meth:`_Verifier._split`).
    """
    verifier = _Verifier(tables_of(reader), checkpoints, verifier_key, stored_checkpoints)
    return verifier.run(progress, reopen)


def reopen_url(url: str, name: str = "xinfang") -> Callable[[], Any]:
    """A ``reopen`` for :func:`verify`: a fresh application recorder on the ledger at ``url``.

    ``name`` is the application's (:attr:`ledger.application.Ledger.name`): on PostgreSQL the
    events table is named after it. Tables are never created.
    """

    def reopen() -> Any:
        from eventsourcing.persistence import InfrastructureFactory
        from eventsourcing.utils import Environment

        from ledger.config import environment

        settings = {**environment(url), "CREATE_TABLE": "n"}
        return InfrastructureFactory.construct(Environment(name=name, env=settings)).application_recorder()

    return reopen


class _Verifier:
    def __init__(
        self, tables: Tables, checkpoints: Sequence[tuple[str, str]], key: str | None, stored: bool
    ) -> None:
        self.t = tables
        self.given = list(checkpoints)
        self.key = key
        self.stored = stored
        self.chain: dict[str, tuple[int, str, Any]] = {}
        """aggregate id → (last version, its leaf hash in hex, the id as the events table stores it)."""
        self.actors: dict[bytes, str] = {}
        """Actor JSON as stored in envelopes → as written in leaves (keys sorted)."""
        self.last_time_text = ""
        """``recorded_at`` of the last verified event."""
        self.after: Any = -1
        self.assumed: dict[Any, tuple[int, str]] = {}
        """In the second half's process: stored id → (version, leaf hash) of predecessors before it."""
        self.assumptions: dict[str, tuple[int, str]] = {}
        """Those predecessors it relied on, by aggregate: the first half must end with them."""
        self.verified = 0
        self.size = 0
        self.checks: list[CheckpointCheck] = []

    # ── driver ───────────────────────────────────────────────────────────────

    def run(self, progress: Progress[int] | None, reopen: Callable[[], Any] | None = None) -> VerifyReport:
        started = time.perf_counter()
        root: bytes | None = None
        failure: Failure | None = None
        with self.t.snapshot() as q:
            top = q("SELECT MAX(seq) FROM {leaves}", ())[0][0]
            self.size = n = 0 if top is None else int(top) + 1
            second = self._split(q, n, reopen) if reopen is not None else None
            middle = second.middle if second is not None else n
            pages: Iterable[int] = range(0, middle, PAGE)
            if progress is not None:
                pages = progress(pages, (middle + PAGE - 1) // PAGE)
            tops = merkle.CompactRange()
            try:
                try:
                    with _Prefetch(self.t, q, middle) as fetched:
                        for _ in pages:
                            self._page(q, fetched.next(), tops)
                        self.after = fetched.after
                except BaseException as exc:
                    if second is not None:
                        second.stop()
                    if isinstance(exc, _Suspect):
                        raise _Damage(exc.diagnose()) from None
                    raise
                if second is not None:
                    self._join(q, second.result())
                self._after_end(q, n)
                nodes = _NodeCache(q)
                root = merkle.root_at(n, nodes.get(merkle.root_keys(n)))
                self._checkpoints(q, n, nodes)
            except _Damage as damage:
                failure = damage.failure
                if failure.seq is not None:
                    self.verified = min(failure.seq, self.size)
        seconds = time.perf_counter() - started
        return VerifyReport(
            ok=failure is None,
            tree_size=self.size,
            verified=self.verified,
            root=root.hex() if root is not None else None,
            checkpoints=self.checks,
            seconds=round(seconds, 3),
            events_per_second=round(self.verified / seconds) if seconds > 0 else 0.0,
            failure=failure,
        )

    # ── two processes ────────────────────────────────────────────────────────

    def _split(self, q: Query, n: int, reopen: Callable[[], Any]) -> _SecondHalf | None:
        """Start verifying ``[middle, n)`` in a forked process; None when not worth it or not possible.

        The second half starts from what the stored log says about the first: the events-table
        position and ``recorded_at`` of event ``middle - 1``, the tree's right edge at ``middle``
        (to complete the nodes above the pages) and, met on the way, the leaf hash of each
        aggregate's last event before ``middle``. This process verifies the first half; if it
        finds nothing wrong, those stored values are right, and :meth:`_join` also checks that
        the first half ended with exactly the predecessors the second one relied on.
        """
        import multiprocessing

        if n < SPLIT_MIN_PAGES * PAGE or (os.cpu_count() or 1) < 2:
            return None
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            return None
        middle = (n // 2) // PAGE * PAGE
        t = self.t
        rows = q(
            f"SELECT e.{t.event_order}, l.leaf FROM {{leaves}} l JOIN {{events}} e "
            "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version WHERE l.seq = ?",
            (middle - 1,),
        )
        edge = _NodeCache(q).get(merkle.root_keys(middle))
        if len(rows) != 1 or len(edge) != len(merkle.root_keys(middle)):
            return None  # damaged around the middle: the single pass will say how
        try:
            last_text = decode_leaf(bytes(rows[0][1])).recorded_at
        except UNREADABLE:
            return None
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_second_half,
            args=(sender, reopen, middle, n, rows[0][0], last_text, edge),
            name="verify-second-half",
            daemon=True,
        )
        process.start()
        sender.close()
        return _SecondHalf(middle, process, receiver)

    def _join(self, q: Query, outcome: _Outcome) -> None:
        if outcome.error is not None:
            raise RuntimeError(f"校验后半段的进程出错：{outcome.error}")
        for aggregate, (version, hash_hex) in outcome.assumptions.items():
            latest = self.chain.get(aggregate)
            if latest is None or (latest[0], latest[1]) != (version, hash_hex):
                raise _Damage(self._failure(
                    q, outcome.middle, "leaf_changed",
                    f"聚合 {aggregate} 在序号 {outcome.middle} 之前的最后一条事件与存储的叶子不符", aggregate,
                ))
        if self.last_time_text != outcome.last_text:
            raise _Damage(self._failure(
                q, outcome.middle, "leaf_changed", f"序号 {outcome.middle - 1} 的记录时间与存储的叶子不符",
            ))
        if outcome.failure is not None:
            raise _Damage(outcome.failure)
        self.verified = outcome.verified
        self.after = outcome.after

    # ── one page ─────────────────────────────────────────────────────────────

    def _page(self, q: Query, page: _Page, tops: merkle.CompactRange) -> None:
        start, end = page.start, page.end
        if page.assumed:
            self.assumed.update(page.assumed)
        hashes, bad = self._rows(start, end, page.leaves, page.events)
        blame, top = _compare_nodes(start, hashes, page.levels)
        if blame is not None and (bad is None or blame[0] < bad):
            seq, level, idx = blame
            if level == 0:
                raise _Suspect(lambda: self._diagnose(q, seq, page.events, start))
            raise _Suspect(lambda: self._node_failure(q, level, idx))
        if bad is not None:
            raise _Suspect(lambda: self._diagnose(q, bad, page.events, start))
        self.verified = end
        if top is not None:
            for level, idx, h in tops.append(top)[1:]:
                if page.above.get((level + PAGE_BITS, idx)) != h:
                    raise _Suspect(lambda key=(level + PAGE_BITS, idx): self._node_failure(q, *key))

    def _rows(
        self, start: int, end: int, leaves: list[tuple[Any, ...]], events: list[tuple[Any, ...]]
    ) -> tuple[list[bytes], int | None]:
        """The fast checks, row by row: leaf hashes of the good prefix, and the first bad position.

        The expected leaf is spelled out with an f-string rather than built as a :class:`Leaf`
        and encoded: every field but the actor is a plain JSON string or number, the actor is
        encoded (keys sorted) once per distinct actor. A leaf that differs is looked at again by
        :meth:`_diagnose` with the production encoder, so this shortcut can only be slower to
        accept, never quicker.
        """
        chain = self.chain
        chain_get = chain.get
        decode = _decode_head
        actors = self.actors
        assumed = self.assumed
        assumptions = self.assumptions
        dashed = self.t.dashed_ids
        last_text = self.last_time_text
        hashes: list[bytes] = []
        append = hashes.append
        count = min(len(leaves), len(events))
        bad: int | None = None
        k = start
        try:
            for i in range(count):
                leaf_id, leaf_version, leaf, stored_hash = leaves[i]
                _, event_id, event_version, topic, state = events[i]
                # No seq column: the rows come in seq order and the leaf bytes, compared below,
                # say which seq they are, so a missing or moved row shows up as a different leaf.
                if leaf_id != event_id or leaf_version != event_version:
                    bad = k
                    break
                try:
                    head = decode(state)
                except UNREADABLE:
                    bad = k
                    break
                aggregate = head.originator_id
                version = head.originator_version
                latest = chain_get(aggregate)
                if latest is None:
                    if (aggregate if dashed else aggregate.replace("-", "")) != event_id:
                        bad = k
                        break
                    if version == 1:
                        prev = ZERO_HASH
                    else:  # the second half's process: the predecessor is in the first half
                        before = assumed.get(event_id)
                        if before is None or before[0] != version - 1:
                            bad = k
                            break
                        prev = before[1]
                        assumptions[aggregate] = before
                else:
                    if version != latest[0] + 1 or latest[2] != event_id:
                        bad = k
                        break
                    prev = latest[1]
                if version != event_version:
                    bad = k
                    break
                raw_actor = bytes(head.actor)
                actor = actors.get(raw_actor)
                if actor is None:
                    try:
                        actor = actors[raw_actor] = canonical_json(msgspec.json.decode(raw_actor)).decode()
                    except UNREADABLE:
                        bad = k
                        break
                recorded = head.recorded_at
                expected = (
                    f'{{"actor":{actor},"aggregate_id":"{aggregate}","payload_sha256":"{sha256(state).hexdigest()}",'
                    f'"prev":"{prev}","recorded_at":"{recorded}","seq":{k},"type":"{topic}","version":{version}}}'
                ).encode()
                if expected != leaf:
                    bad = k
                    break
                h = sha256(_LEAF + leaf).digest()
                if h != stored_hash:
                    bad = k
                    break
                if recorded != last_text:
                    # Same length and UTC offset: the ISO texts order like the times they spell.
                    if len(recorded) == len(last_text) and recorded[-6:] == last_text[-6:]:
                        if recorded < last_text:
                            bad = k
                            break
                    else:
                        try:
                            when = datetime.fromisoformat(recorded)
                        except ValueError:
                            bad = k
                            break
                        if last_text and when < datetime.fromisoformat(last_text):
                            bad = k
                            break
                    last_text = recorded
                chain[aggregate] = (version, h.hex(), event_id)
                append(h)
                k += 1
            else:
                if k < end:
                    bad = k  # fewer leaves or events than positions
        finally:
            self.last_time_text = last_text
        return hashes, bad

    # ── after the last page ──────────────────────────────────────────────────

    def _after_end(self, q: Query, n: int) -> None:
        t = self.t
        extra = q(
            f"SELECT {t.id_text}, originator_version FROM {{events}} WHERE {t.event_order} > ? "
            f"ORDER BY {t.event_order} LIMIT 1",
            (self.after,),
        )
        if extra:
            aggregate, version = _dashed(str(extra[0][0])), int(extra[0][1])
            raise _Damage(self._failure(
                q, n, "inserted",
                f"事件表在日志末尾之后还有事件（聚合 {aggregate} 版本 {version}），它没有叶子，不在日志中",
                aggregate, version,
            ))
        levels = q("SELECT MAX(level) FROM {nodes}", ())[0][0]
        for level in range(0, (levels or 0) + 1):
            beyond = q(
                "SELECT idx FROM {nodes} WHERE level = ? AND idx >= ? ORDER BY idx LIMIT 1", (level, n >> level)
            )
            if beyond:
                idx = int(beyond[0][0])
                claimed = (idx + 1) << level
                raise _Damage(self._failure(
                    q, n, "event_missing",
                    f"存储的树还有节点（层 {level}，序号 {idx}）覆盖到第 {claimed} 条事件，"
                    f"日志却只有 {n} 条：末尾的事件被删除",
                ))

    def _checkpoints(self, q: Query, n: int, nodes: _NodeCache) -> None:
        notes: list[tuple[str, str, tuple[int, bytes] | None]] = [(source, text, None) for source, text in self.given]
        if self.stored:
            for row_id, size, root, text in q("SELECT id, tree_size, root, note FROM {checkpoints} ORDER BY id", ()):
                notes.append((f"stored #{row_id}", str(text), (int(size), bytes(root))))
        opened: list[tuple[str, note.Checkpoint]] = []
        for source, text, columns in notes:
            try:
                if self.key is not None:
                    checkpoint = note.open_checkpoint(text, self.key)
                else:
                    checkpoint = _unsigned_checkpoint(text)
            except note.NoteError as exc:
                self.checks.append(CheckpointCheck(source=source, origin=None, tree_size=None, root=None, ok=False,
                                                   signature_checked=self.key is not None))
                raise _Damage(Failure(
                    seq=None, kind="checkpoint_signature", description=KINDS["checkpoint_signature"],
                    message=f"检查点 {source} 无法验证：{exc}",
                )) from None
            if columns is not None and columns != (checkpoint.size, checkpoint.root):
                self.checks.append(self._check(source, checkpoint, ok=False))
                raise _Damage(Failure(
                    seq=None, kind="checkpoint_inconsistent", description=KINDS["checkpoint_inconsistent"],
                    message=f"检查点 {source} 的 tree_size/root 列与其签名注记不符",
                ))
            opened.append((source, checkpoint))
        good: list[int] = [0]
        for source, checkpoint in sorted(opened, key=lambda item: item[1].size):
            if checkpoint.size > n:
                self.checks.append(self._check(source, checkpoint, ok=False))
                raise _Damage(self._failure(
                    q, n, "event_missing",
                    f"检查点 {source} 记录了 {checkpoint.size} 条事件，账本只有 {n} 条：序号 {n} 起的事件被删除",
                ))
            root = merkle.root_at(checkpoint.size, nodes.get(merkle.root_keys(checkpoint.size)))
            if root != checkpoint.root:
                self.checks.append(self._check(source, checkpoint, ok=False))
                since = max(size for size in good if size <= checkpoint.size)
                raise _Damage(Failure(
                    seq=since, kind="checkpoint_inconsistent", description=KINDS["checkpoint_inconsistent"],
                    message=(
                        f"检查点 {source}（大小 {checkpoint.size}）的根 {checkpoint.root.hex()[:16]}… 与账本重算的根 "
                        f"{root.hex()[:16]}… 不同：序号 {since} 至 {checkpoint.size - 1} 之间的历史被改写"
                        "（即使全部重新计算了哈希）"
                    ),
                ))
            good.append(checkpoint.size)
            self.checks.append(self._check(source, checkpoint, ok=True))

    def _check(self, source: str, checkpoint: note.Checkpoint, *, ok: bool) -> CheckpointCheck:
        return CheckpointCheck(source=source, origin=checkpoint.origin, tree_size=checkpoint.size,
                               root=checkpoint.root.hex(), ok=ok, signature_checked=self.key is not None)

    # ── saying what is wrong ─────────────────────────────────────────────────

    def _node_failure(self, q: Query, level: int, idx: int) -> Failure:
        first, last = idx << level, ((idx + 1) << level) - 1
        return self._failure(
            q, first, "node_changed",
            f"存储的树节点（层 {level}，序号 {idx}，覆盖事件 {first}–{last}）与由叶子重算的不同",
        )

    def _diagnose(self, q: Query, k: int, events: list[tuple[Any, ...]], start: int) -> Failure:
        """What is wrong at position ``k``, the first position the fast checks refused."""
        t = self.t
        i = k - start
        at_position = events[i] if i < len(events) else None
        rows = q(
            f"SELECT seq, {t.id_text}, originator_version, leaf, leaf_hash FROM {{leaves}} WHERE seq = ?", (k,)
        )
        row = rows[0] if rows else None

        def fail(kind: DamageKind, message: str, aggregate: str | None = None, version: int | None = None) -> Failure:
            return self._failure(q, k, kind, message, aggregate, version)

        if at_position is not None and (row is None or (at_position[1], at_position[2]) != (row[1], row[2])):
            event_id, event_version = str(at_position[1]), int(at_position[2])
            has_leaf = q(
                f"SELECT seq FROM {{leaves}} WHERE {t.id_eq} AND originator_version = ?",
                (event_id, event_version),
            )
            if not has_leaf:
                return fail("inserted", f"事件表中位于第 {k} 位的事件（版本 {event_version}）没有叶子，不在日志中",
                            _dashed(event_id), event_version)
        if row is None:
            return fail("event_missing", f"日志缺少序号 {k} 的叶子和事件")
        _, leaf_id, leaf_version, leaf_bytes, stored_hash = row
        leaf_bytes, stored_hash = bytes(leaf_bytes), bytes(stored_hash)
        try:
            leaf = decode_leaf(leaf_bytes)
        except UNREADABLE:
            return fail("leaf_changed", f"序号 {k} 的叶子不是合法的叶子 JSON", _dashed(str(leaf_id)), int(leaf_version))
        agg, ver = leaf.aggregate_id, leaf.version
        h = sha256(_LEAF + leaf_bytes).digest()
        node0 = _NodeCache(q).get([(0, k)]).get((0, k))
        if leaf.seq != k:
            elsewhere = node0 is not None and any(
                sha256(_LEAF + bytes(r[0])).digest() == node0
                for r in q("SELECT leaf FROM {leaves} WHERE leaf_hash = ? AND seq <> ?", (node0, k))
            )
            if leaf.seq > k and not elsewhere:
                return fail("event_missing", f"序号 {k} 的事件被删除，其后的叶子被前移（此处是原序号 {leaf.seq} 的叶子）",
                            agg, ver)
            return fail("reordered", f"位于序号 {k} 的是原序号 {leaf.seq} 的叶子：事件顺序被调换", agg, ver)
        event_rows = q(
            f"SELECT topic, state FROM {{events}} WHERE {t.id_eq} AND originator_version = ?",
            (str(leaf_id), int(leaf_version)),
        )
        if not event_rows:
            return fail("event_missing", f"序号 {k} 的事件（版本 {ver}）已从事件表中删除，叶子还在", agg, ver)
        topic, state = str(event_rows[0][0]), bytes(event_rows[0][1])
        if node0 is None:
            later = q("SELECT idx FROM {nodes} WHERE level = 0 AND idx > ? LIMIT 1", (k,))
            if not later:
                return fail("inserted", f"序号 {k} 的叶子不在存储的树中：事件是绕过账本写入的", agg, ver)
            return fail("node_changed", f"存储的树缺少序号 {k} 的叶子节点", agg, ver)
        if h != node0:
            following = q("SELECT leaf FROM {leaves} WHERE seq = ?", (k + 1,))
            if following and sha256(_LEAF + bytes(following[0][0])).digest() == node0:
                return fail("inserted", f"序号 {k} 处插入了一个事件：原来的第 {k} 条被挤到了 {k + 1}", agg, ver)
            sibling = q("SELECT leaf FROM {leaves} WHERE seq = ?", (k ^ 1,))
            parent = _NodeCache(q).get([(1, k >> 1)]).get((1, k >> 1))
            if sibling and parent is not None:
                other = sha256(_LEAF + bytes(sibling[0][0])).digest()
                pair = (h, other) if k % 2 == 0 else (other, h)
                if merkle.node_hash(*pair) == parent:
                    return fail("node_changed", f"存储的叶子节点（层 0，序号 {k}）被改动，叶子本身完好", agg, ver)
        try:
            head: Head | None = _decode_envelope_head(state)
        except UNREADABLE:
            head = None
        if head is not None and head.recorded_at != leaf.recorded_at:
            return fail("backdated", f"序号 {k} 的事件记录时间 {head.recorded_at} 与叶子中的 {leaf.recorded_at} 不同", agg, ver)
        try:
            when = datetime.fromisoformat(leaf.recorded_at)
        except ValueError:
            return fail("leaf_changed", f"序号 {k} 的叶子记录时间 {leaf.recorded_at!r} 无效", agg, ver)
        if self.last_time_text and when < datetime.fromisoformat(self.last_time_text):
            return fail("backdated", f"序号 {k} 的记录时间 {leaf.recorded_at} 早于前一条事件的 {self.last_time_text}", agg, ver)
        if sha256(state).hexdigest() != leaf.payload_sha256:
            return fail("payload_changed", f"序号 {k} 的事件内容与叶子中的 payload_sha256 不符", agg, ver)
        if topic != leaf.type:
            return fail("payload_changed", f"序号 {k} 的事件类型 {topic} 与叶子中的 {leaf.type} 不符", agg, ver)
        if head is None or head.originator_id != agg or head.originator_version != ver:
            return fail("payload_changed", f"序号 {k} 的事件不属于叶子所记的聚合与版本", agg, ver)
        if _dashed(str(leaf_id)) != agg or int(leaf_version) != ver:
            return fail("leaf_changed", f"序号 {k} 的叶子行的聚合或版本列与叶子内容不符", agg, ver)
        latest: tuple[Any, ...] | None = self.chain.get(agg) or self.assumed.get(t.id_of(agg))
        expected_version = 1 if latest is None else latest[0] + 1
        if ver > expected_version:
            found = q(
                f"SELECT seq FROM {{leaves}} WHERE {t.id_eq} AND originator_version = ?",
                (t.id_of(agg), expected_version),
            )
            if found and int(found[0][0]) > k:
                return fail("reordered", f"序号 {k} 的事件是版本 {ver}，而版本 {expected_version} 在其后（序号 {found[0][0]}）", agg, ver)
            return fail("event_missing", f"序号 {k} 的事件是版本 {ver}：版本 {expected_version} 缺失", agg, ver)
        if ver < expected_version:
            return fail("reordered", f"序号 {k} 的事件是版本 {ver}，该聚合已记到版本 {expected_version - 1}", agg, ver)
        prev = ZERO_HASH if latest is None else latest[1]
        if leaf.prev != prev:
            return fail("leaf_changed", f"序号 {k} 的叶子 prev 与同一聚合上一条事件的叶子哈希不符（链条断开）", agg, ver)
        rebuilt = canonical_json(Leaf(actor=head.actor, aggregate_id=agg, payload_sha256=leaf.payload_sha256, prev=prev,
                                   recorded_at=head.recorded_at, seq=k, type=topic, version=ver))
        if rebuilt != leaf_bytes:
            return fail("leaf_changed", f"序号 {k} 的叶子与由事件重建的叶子不同（操作人或编码被改动）", agg, ver)
        if stored_hash != h:
            return fail("leaf_changed", f"序号 {k} 的 leaf_hash 列与叶子的哈希不符", agg, ver)
        if h != node0:
            return fail("leaf_changed", f"序号 {k} 的叶子（及其事件）与存储的树不符：叶子被改写后重新计算了哈希", agg, ver)
        if at_position is None:
            return fail("event_missing", f"事件表在序号 {k} 处已没有事件", agg, ver)
        return fail("reordered", f"事件表中事件的插入顺序在序号 {k} 处与日志顺序不同", agg, ver)

    def _failure(self, q: Query, seq: int | None, kind: DamageKind, message: str, aggregate: str | None = None,
                 version: int | None = None) -> Failure:
        case, label = _describe(self.t, q, aggregate)
        return Failure(seq=seq, kind=kind, description=KINDS[kind], message=message, aggregate_id=aggregate,
                       version=version, case=case, aggregate=label)


# ── helpers ──────────────────────────────────────────────────────────────────


class _NodeCache:
    """Point lookups of stored nodes inside the snapshot, remembered."""

    def __init__(self, q: Query) -> None:
        self.q = q
        self.found: dict[merkle.Key, bytes] = {}

    def get(self, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
        wanted = {}
        for key in keys:
            if key not in self.found:
                rows = self.q("SELECT hash FROM {nodes} WHERE level = ? AND idx = ?", key)
                if rows:
                    self.found[key] = bytes(rows[0][0])
            if key in self.found:
                wanted[key] = self.found[key]
        return wanted


class _Page(msgspec.Struct):
    """What one page needs from the database, read ahead by :class:`_Prefetch`."""

    start: int
    end: int
    leaves: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    levels: list[bytes]
    """Stored node hashes of levels 0..PAGE_BITS inside the page, in ``idx`` order, concatenated."""
    above: dict[merkle.Key, bytes]
    """Stored nodes above the page completed at its end."""
    assumed: dict[str, tuple[int, str]] = {}
    """Second half only: predecessors in the first half of aggregates first met on this page."""


class _Prefetch:
    """Reads pages in a thread while the previous ones are checked (the driver waits on I/O
    with the GIL released), inside the caller's snapshot. Stopped as soon as the checks stop."""

    def __init__(self, tables: Tables, q: Query, size: int, start: int = 0, after: Any = -1) -> None:
        self.t = tables
        self.q = q
        self.size = size
        self.start = start
        self.seen: set[Any] = set()
        self.after: Any = after
        self.queue: queue.Queue[_Page | BaseException] = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, name="verify-prefetch", daemon=True)
        t = tables
        self.leaves_sql = (
            f"SELECT {t.id_text}, originator_version, leaf, leaf_hash FROM {{leaves}} "
            "WHERE seq >= ? AND seq < ? ORDER BY seq"
        )
        self.events_sql = (
            f"SELECT {t.event_order}, {t.id_text}, originator_version, topic, state FROM {{events}} "
            f"WHERE {t.event_order} > ? ORDER BY {t.event_order} LIMIT ?"
        )
        self.nodes_sql = "SELECT hash FROM {nodes} WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"

    def __enter__(self) -> _Prefetch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self.thread.join()

    def next(self) -> _Page:
        item = self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _produce(self) -> None:
        try:
            for start in range(self.start, self.size, PAGE):
                if self.stop.is_set():
                    return
                page = self._read(start, min(self.size, start + PAGE))
                while not self.stop.is_set():
                    try:
                        self.queue.put(page, timeout=0.05)
                        break
                    except queue.Full:
                        pass
        except BaseException as exc:  # handed to the driver, which raises it
            self.queue.put(exc)

    def _read(self, start: int, end: int) -> _Page:
        q = self.q
        leaves = q(self.leaves_sql, (start, end))
        events = q(self.events_sql, (self.after, end - start))
        if events:
            self.after = events[-1][0]
        levels = []
        for level in range(PAGE_BITS + 1):
            base, stop = start >> level, end >> level
            if stop <= base:
                break
            levels.append(b"".join(map(_first, q(self.nodes_sql, (level, base, stop)))))
        above: dict[merkle.Key, bytes] = {}
        level = PAGE_BITS + 1
        while end % (1 << level) == 0:
            rows = q("SELECT hash FROM {nodes} WHERE level = ? AND idx = ?", (level, (end >> level) - 1))
            if rows:
                above[(level, (end >> level) - 1)] = bytes(rows[0][0])
            level += 1
        assumed: dict[str, tuple[int, str]] = {}
        if self.start:
            keys = []
            seen = self.seen
            for row in leaves:
                if row[0] not in seen:
                    seen.add(row[0])
                    if row[1] > 1:
                        keys.append((str(row[0]), int(row[1]) - 1))
            if keys:
                found = self.t.predecessors(q, keys, self.start)
                assumed = {key: (version, hash_.hex()) for key, (version, hash_) in found.items()}
        return _Page(start=start, end=end, leaves=leaves, events=events, levels=levels, above=above,
                     assumed=assumed)


class _Outcome(msgspec.Struct):
    """What the second half's process reports back."""

    middle: int
    verified: int
    after: Any
    last_text: str
    """The ``recorded_at`` it started from (that of the stored leaf ``middle - 1``)."""
    assumptions: dict[str, tuple[int, str]]
    failure: Failure | None = None
    error: str | None = None


class _SecondHalf:
    def __init__(self, middle: int, process: Any, receiver: Any) -> None:
        self.middle = middle
        self.process = process
        self.receiver = receiver

    def result(self) -> _Outcome:
        try:
            data = self.receiver.recv_bytes()
        except EOFError:
            self.process.join()
            return _Outcome(middle=self.middle, verified=self.middle, after=None, last_text="", assumptions={},
                            error=f"进程意外退出（退出码 {self.process.exitcode}）")
        self.process.join()
        return msgspec.msgpack.decode(data, type=_Outcome)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def _second_half(sender: Any, reopen: Callable[[], Any], middle: int, n: int, after: Any, last_text: str,
                 edge: dict[merkle.Key, bytes]) -> None:
    """Runs in the forked process: verify ``[middle, n)`` from what the stored first half says."""
    verifier: _Verifier | None = None
    try:
        reader = reopen()
        verifier = _Verifier(tables_of(reader), [], None, False)
        verifier.last_time_text = last_text
        tops = merkle.CompactRange.from_nodes(
            middle >> PAGE_BITS, {(level - PAGE_BITS, idx): h for (level, idx), h in edge.items()}
        )
        failure = None
        with verifier.t.snapshot() as q:
            try:
                with _Prefetch(verifier.t, q, n, start=middle, after=after) as fetched:
                    for _ in range(middle, n, PAGE):
                        verifier._page(q, fetched.next(), tops)
                    verifier.after = fetched.after
            except _Suspect as suspect:
                failure = suspect.diagnose()
        outcome = _Outcome(middle=middle, verified=n if failure is None else (failure.seq or middle),
                           after=verifier.after, last_text=last_text, assumptions=verifier.assumptions,
                           failure=failure)
    except Exception as exc:  # reported to the first half, which raises it
        outcome = _Outcome(middle=middle, verified=middle, after=None, last_text=last_text, assumptions={},
                           error=f"{type(exc).__name__}: {exc}")
    sender.send_bytes(msgspec.msgpack.encode(outcome))
    sender.close()


def _compare_nodes(
    start: int, hashes: list[bytes], levels: list[bytes]
) -> tuple[tuple[int, int, int] | None, bytes | None]:
    """Compare the stored nodes inside a page with those recomputed from its leaf ``hashes``.

    Returns the first damaged ``(seq, level, idx)``: at level 0 the leaf hash and the stored
    node differ at ``seq``; above, the stored node itself is wrong and ``seq`` is the first leaf
    under it. Also returns the page's root when the page is a whole perfect subtree.
    """
    first: tuple[int, int, int] | None = None
    current = hashes
    for level, stored in enumerate(levels):
        if not current:
            break
        if not stored.startswith(b"".join(current)):
            for i, h in enumerate(current):
                if stored[i * merkle.HASH_SIZE : (i + 1) * merkle.HASH_SIZE] != h:
                    idx = (start >> level) + i
                    if first is None or idx << level < first[0]:
                        first = (idx << level, level, idx)
                    break
            if level == 0:
                return first, None
        if level == PAGE_BITS:
            return first, current[0]
        current = _level_hashes(current, 1)
    return first, None


def _level_hashes(hashes: list[bytes], levels: int) -> list[bytes]:
    """Perfect subtrees ``levels`` above ``hashes`` (pairs, an odd last one dropped)."""
    for _ in range(levels):
        it = iter(hashes)
        hashes = [sha256(_NODE + a + b).digest() for a, b in zip(it, it)]
    return hashes


def _dashed(text: str) -> str:
    if len(text) == 32 and "-" not in text:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def _describe(t: Tables, q: Query, aggregate: str | None) -> tuple[str | None, str | None]:
    """Case number and ``kind:key`` of an aggregate, from its first event (when readable)."""
    if aggregate is None:
        return None, None
    try:
        rows = q(f"SELECT state FROM {{events}} WHERE {t.id_eq} AND originator_version = 1",
                 (t.id_of(aggregate),))
        if not rows:
            return None, None
        event = decode_envelope(bytes(rows[0][0])).event
    except UNREADABLE:
        return None, None
    key = getattr(event, event.key_field, None) if event.key_field else None
    label = f"{event.aggregate}:{key}" if key is not None else event.aggregate
    return (event.number if isinstance(event, PetitionRegistered) else None), label


def _unsigned_checkpoint(text: str) -> note.Checkpoint:
    """A checkpoint's body, read without checking its signature (no verifier key at hand)."""
    split = text.find("\n\n")
    body = text[: split + 1] if split >= 0 else text
    lines = body.rstrip("\n").split("\n")
    if len(lines) != 3 or not lines[1].isdigit():
        raise note.NoteError("不是检查点注记（需要来源、树大小、根三行）")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise note.NoteError("检查点的根不是 base64") from None
    if len(root) != merkle.HASH_SIZE:
        raise note.NoteError("检查点的根不是 32 字节")
    return note.Checkpoint(origin=lines[0], size=int(lines[1]), root=root)
