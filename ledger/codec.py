"""Storage encoding: each stored event is the msgspec JSON of its :class:`Envelope`.

JSON (not msgpack) so an inspector can read the rows with plain SQL; msgspec so
decoding a million events stays cheap. The topic is the event type's name, which
does not move when code is reorganised.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent

from schemas.events import Envelope

encoder = msgspec.json.Encoder()
decoder = msgspec.json.Decoder(Envelope)

UNREADABLE = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError)
"""Everything msgspec raises for bytes it cannot read: besides its own errors, invalid UTF-8 in a
string (``UnicodeDecodeError``) and nesting past its depth (``RecursionError``). Bytes that come
from outside, or from storage someone may have edited, are caught with all of them."""


def decode_envelope(state: bytes) -> Envelope:
    return decoder.decode(state)


class EnvelopeMapper(Mapper[UUID]):
    """Maps :class:`Envelope` to :class:`StoredEvent` and back, without a transcoder."""

    def __init__(self) -> None:  # no transcoder, cipher or compressor: the bytes are the contract
        pass

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        envelope: Envelope = domain_event
        return StoredEvent(
            originator_id=envelope.originator_id,
            originator_version=envelope.originator_version,
            topic=type(envelope.event).__name__,
            state=encoder.encode(envelope),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            return decoder.decode(stored_event.state)
        except UNREADABLE as exc:
            raise MapperDeserialisationError(
                f"无法解码事件 {stored_event.originator_id} 版本 {stored_event.originator_version}：{exc}"
            ) from exc
