"""The ledger's Merkle leaves, independent of the database engine.

Every stored event gets, in the transaction that stores it, a dense 0-based ``seq`` and a leaf:
the canonical JSON (msgspec, keys sorted, no whitespace) of ``{seq, aggregate_id, version, type,
recorded_at, actor, payload_sha256, prev}``. ``prev`` is the leaf hash of the same aggregate's
previous event, so each case is also a hash chain of its own. The engines (``sqlite.py``,
``postgres.py``) only fetch what this module needs and store what it returns; the rules live here
so both engines, and any verifier, build byte-identical leaves.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from hashlib import sha256
from threading import Lock
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from eventsourcing.persistence import DatabaseError, DataError, IntegrityError, StoredEvent

from ledger.canonical import canonical_json
from ledger.codec import UNREADABLE
from ledger.merkle import CompactRange, Key, leaf_hash, root_keys
from schemas.proofs import Leaf

__all__ = [
    "APPEND_ONLY_TABLES",
    "ZERO_HASH",
    "Head",
    "LeafRow",
    "NodeRow",
    "RecordedTimeRegression",
    "SeqEvent",
    "TipCache",
    "TreeTip",
    "VersionGap",
    "append_leaves",
    "decode_leaf",
    "head_of",
    "make_leaf",
    "parse_recorded_at",
    "predecessor_keys",
    "require_leaves",
]

ZERO_HASH = "0" * 64

APPEND_ONLY_TABLES = ("ledger_leaves", "ledger_nodes", "command_receipts", "ledger_checkpoints")
"""The ledger's own tables; both engines refuse UPDATE and DELETE on them."""
"""``prev`` of an aggregate's first event."""


class RecordedTimeRegression(IntegrityError):
    """A new event's ``recorded_at`` is earlier than the last stored one.

    ``recorded_at`` may never decrease along ``seq``: verifiers check it and as-of queries rely on
    knowledge time being a prefix of the log. The transaction is refused as a whole; the
    application retries with a fresh clock reading.
    """


class VersionGap(IntegrityError):
    """An event's predecessor (same aggregate, version − 1) is neither stored nor earlier in the batch.

    Without it ``prev`` would have nothing to point at and the aggregate's chain would break.
    """


class Head(msgspec.Struct):
    """The part of a stored envelope a leaf needs; other keys are skipped, not validated."""

    originator_id: str
    originator_version: int
    recorded_at: str
    actor: dict[str, Any]


class LeafRow(NamedTuple):
    """A row of ``ledger_leaves``."""

    seq: int
    originator_id: UUID | str
    originator_version: int
    leaf: bytes
    leaf_hash: bytes


class SeqEvent(NamedTuple):
    """A stored event together with its position in the log."""

    seq: int
    topic: str
    state: bytes
    originator_id: UUID | str
    originator_version: int


NodeRow = tuple[int, int, bytes]
"""``(level, idx, hash)`` of a perfect subtree, as stored in ``ledger_nodes``."""

_decode_head = msgspec.json.Decoder(Head).decode
_decode_leaf = msgspec.json.Decoder(Leaf).decode


def decode_leaf(data: bytes) -> Leaf:
    return _decode_leaf(data)


def head_of(event: StoredEvent) -> Head:
    """Read ``recorded_at`` and ``actor`` from the stored envelope, and check it names this event.

    The payload must be the plain JSON envelope: a leaf without the recording time and actor
    would let a back-dated or anonymous entry through, so anything else is refused.
    """
    try:
        head = _decode_head(event.state)
    except UNREADABLE as e:
        msg = (
            f"event {event.originator_id} v{event.originator_version}: stored state is not a "
            f"ledger envelope ({e})"
        )
        raise DataError(msg) from None
    if head.originator_id != str(event.originator_id) or head.originator_version != event.originator_version:
        msg = (
            f"event {event.originator_id} v{event.originator_version}: envelope says "
            f"{head.originator_id} v{head.originator_version}"
        )
        raise DataError(msg)
    return head


def parse_recorded_at(value: str) -> datetime:
    """``recorded_at`` as an aware datetime; a naive one cannot be ordered against others."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        msg = f"recorded_at {value!r} is not an ISO 8601 date-time"
        raise DataError(msg) from None
    if when.tzinfo is None:
        msg = f"recorded_at {value!r} has no UTC offset"
        raise DataError(msg)
    return when


def make_leaf(seq: int, event: StoredEvent, prev: str, head: Head | None = None) -> Leaf:
    """The leaf of ``event`` at ``seq``; ``prev`` is the hex leaf hash of its predecessor."""
    if head is None:
        head = head_of(event)
    return Leaf(
        actor=head.actor,
        aggregate_id=head.originator_id,
        payload_sha256=sha256(event.state).hexdigest(),
        prev=prev,
        recorded_at=head.recorded_at,
        seq=seq,
        type=event.topic,
        version=event.originator_version,
    )


class TreeTip:
    """What a writer must know about the end of the log: the tree's right edge, the last leaf
    hash (to recognise the log it was read from) and the last ``recorded_at``.

    Never mutated once built, so one instance can be shared between threads.
    """

    __slots__ = ("last_leaf_hash", "last_recorded_at", "tree")

    def __init__(
        self,
        tree: CompactRange,
        last_leaf_hash: bytes | None = None,
        last_recorded_at: datetime | None = None,
    ) -> None:
        self.tree = tree
        self.last_leaf_hash = last_leaf_hash
        self.last_recorded_at = last_recorded_at

    @property
    def size(self) -> int:
        return self.tree.size

    def matches(self, last: tuple[int, bytes, bytes] | None) -> bool:
        """Whether this tip describes the log whose last row is ``(seq, leaf, leaf_hash)``."""
        if last is None:
            return self.tree.size == 0
        seq, _, hash_ = last
        return self.tree.size == seq + 1 and self.last_leaf_hash == bytes(hash_)

    @classmethod
    def load(
        cls,
        last: tuple[int, bytes, bytes] | None,
        get_nodes: Callable[[list[Key]], Mapping[Key, bytes]],
    ) -> TreeTip:
        """Rebuild from the stored right-edge nodes (O(log n) of them, one query)."""
        if last is None:
            return cls(CompactRange())
        seq, leaf, hash_ = last
        size = seq + 1
        keys = root_keys(size)
        nodes = get_nodes(keys)
        missing = [key for key in keys if key not in nodes]
        if missing:
            msg = f"ledger_nodes lacks {missing} for tree size {size}: the stored tree is damaged"
            raise DatabaseError(msg)
        tree = CompactRange.from_nodes(size, nodes)
        when = parse_recorded_at(decode_leaf(bytes(leaf)).recorded_at)
        return cls(tree, bytes(hash_), when)


class TipCache:
    """A recorder's in-memory tip, reused while the stored log still ends where it did.

    Another process may have appended in between, so each insert transaction reads the last
    stored row (under the write lock) and only reloads the right edge when it differs.
    A tip is installed only after its transaction committed: a cached tip therefore always
    describes committed leaves, and a failed transaction cannot leave a wrong one behind.
    """

    def __init__(self) -> None:
        self._lock = Lock()
        self._tip = TreeTip(CompactRange())

    def current(
        self,
        last: tuple[int, bytes, bytes] | None,
        get_nodes: Callable[[list[Key]], Mapping[Key, bytes]],
    ) -> TreeTip:
        with self._lock:
            tip = self._tip
        if tip.matches(last):
            return tip
        return TreeTip.load(last, get_nodes)

    def install(self, tip: TreeTip) -> None:
        with self._lock:
            self._tip = tip


def predecessor_keys(events: Iterable[StoredEvent]) -> list[tuple[UUID | str, int]]:
    """``(originator_id, version − 1)`` of each aggregate's first event in the batch.

    Only those predecessors can be in the database; later ones are earlier in the batch.
    """
    seen: set[UUID | str] = set()
    keys = []
    for event in events:
        if event.originator_id in seen:
            continue
        seen.add(event.originator_id)
        if event.originator_version >= 1:
            keys.append((event.originator_id, event.originator_version - 1))
    return keys


def append_leaves(
    tip: TreeTip,
    events: Sequence[StoredEvent],
    stored_prevs: Mapping[tuple[str, int], bytes],
    read_head: Callable[[StoredEvent], Head] = head_of,
) -> tuple[TreeTip, list[LeafRow], list[NodeRow]]:
    """Leaves and new tree nodes for ``events``, appended in order after ``tip``.

    ``stored_prevs`` maps ``(str(originator_id), version)`` to the stored leaf hash for the keys
    of :func:`predecessor_keys`. ``read_head`` must return a head whose ``originator_id`` is
    ``str(event.originator_id)``, as :func:`head_of` checks. ``tip`` is left untouched (the transaction may still fail);
    the returned tip is the one to install after commit.
    """
    tree = copy.deepcopy(tip.tree)
    last_time = tip.last_recorded_at
    last_hash = tip.last_leaf_hash
    chain: dict[str, tuple[int, bytes]] = {}
    leaves: list[LeafRow] = []
    nodes: list[NodeRow] = []
    seq = tree.size
    for event in events:
        head = read_head(event)
        aggregate_id = head.originator_id  # == str(event.originator_id), checked by read_head
        version = event.originator_version
        latest = chain.get(aggregate_id)
        if latest is not None:
            if latest[0] != version - 1:
                msg = f"aggregate {aggregate_id}: version {version} follows {latest[0]} in one batch"
                raise VersionGap(msg)
            prev = latest[1]
        else:
            stored = stored_prevs.get((aggregate_id, version - 1))
            if stored is None and version > 1:
                msg = f"aggregate {aggregate_id}: version {version - 1} is not stored"
                raise VersionGap(msg)
            prev = stored
        when = parse_recorded_at(head.recorded_at)
        if last_time is not None and when < last_time:
            msg = (
                f"event {aggregate_id} v{version} recorded_at {head.recorded_at} is earlier "
                f"than the log's last recorded_at {last_time.isoformat()}"
            )
            raise RecordedTimeRegression(msg)
        leaf = canonical_json(make_leaf(seq, event, prev.hex() if prev else ZERO_HASH, head))
        hash_ = leaf_hash(leaf)
        nodes.extend(tree.append(hash_))
        leaves.append(LeafRow(seq, event.originator_id, version, leaf, hash_))
        chain[aggregate_id] = (version, hash_)
        last_time = when
        last_hash = hash_
        seq += 1
    return TreeTip(tree, last_hash, last_time), leaves, nodes


def require_leaves(recorder: Any, cls: type[Any]) -> Any:
    """Refuse a recorder topic from the environment that would store events without leaves."""
    if not isinstance(recorder, cls):
        msg = f"{type(recorder).__qualname__} does not write the ledger's leaves; use a subclass of {cls.__qualname__}"
        raise OSError(msg)
    return recorder
