"""Fuzzing the parsers that read bytes from outside: they refuse with our errors and never crash.

Arbitrary bytes, bytes near valid input (a valid command, leaf or signed note with a few bytes
changed, inserted or cut), and JSON nested past any depth, fed to: the command decoder, the JSONL
importer (into a real ledger, which must not change unless a line was valid), the leaf decoder,
the signed-note and verifier-key parsers, and the appraisal-file reader. Bounded example counts
keep each under a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger import appraisal
from ledger.codec import UNREADABLE
from ledger.errors import InvalidInput
from ledger.imports import import_lines
from ledger.inputs import decode_command
from ledger.integrity import note
from ledger.store.leaves import decode_leaf
from schemas.commands import Command
from support.county import ADMIN, county_setup

COMMAND = json.dumps({"type": "RegisterPetition", "command_id": "c-1", "occurred_at": "2021-03-01T09:30:00+08:00",
                      "channel": "来访", "subject": "土地征收补偿", "home_township": "town-a"},
                     ensure_ascii=False).encode()
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ORIGIN = "xinfang-ledger/fuzz"
VERIFIER = note.verifier_key(ORIGIN, KEY.public_key())
NOTE = note.sign_note(note.format_checkpoint(note.Checkpoint(origin=ORIGIN, size=5, root=bytes(32))), ORIGIN, KEY)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def near(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with a few bytes changed, inserted or cut: where parsers are most likely to slip."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            action = draw(st.sampled_from(["flip", "insert", "cut"]))
            if action == "flip" and at < len(data):
                data[at] = draw(st.integers(0, 255))
            elif action == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
            else:
                del data[at:at + draw(st.integers(1, 8))]
        return bytes(data)

    return mutate()


def hostile(valid: bytes) -> st.SearchStrategy[bytes]:
    nested = st.integers(1, 50_000).map(lambda n: b'{"a":' * n) | st.integers(1, 50_000).map(lambda n: b"[" * n)
    return st.binary(max_size=400) | near(valid) | nested


@FUZZ
@given(hostile(COMMAND))
@example(b'{"type":"RegisterPetition","command_id":"\xff"}')  # invalid UTF-8 in a string: was UnicodeDecodeError
@example(b'{"a":' * 100_000)  # was RecursionError
@example(COMMAND.decode().encode("gbk"))
def test_the_command_decoder_returns_a_command_or_refuses(data: bytes) -> None:
    try:
        assert isinstance(decode_command(data), Command)
    except InvalidInput as exc:
        assert exc.code in {"invalid_command", "malformed_json", "invalid_encoding"} and exc.message


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    app = Ledger(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/ledger.sqlite3")
    for cmd in county_setup():
        app.execute(cmd, ADMIN)
    yield app
    app.close()


@FUZZ
@given(st.lists(hostile(COMMAND), max_size=5).map(b"\n".join) | hostile(COMMAND))
@example(b"\xff\xfe" + "{}".encode("utf-16-le"))
@example(b"\xef\xbb\xbf\xef\xbb\xbf{}")
def test_the_importer_reports_every_line_and_writes_only_valid_ones(ledger: Ledger, data: bytes) -> None:
    before = ledger.recorder.tree_size()  # type: ignore[attr-defined]
    try:
        report = import_lines(data, lambda commands, batch: ledger.execute_many(commands, ADMIN, batch=batch))
    except InvalidInput as exc:
        assert exc.code in {"invalid_encoding", "empty_import"}
        assert ledger.recorder.tree_size() == before  # type: ignore[attr-defined]
        return
    assert all(r.line >= 1 and r.code and r.message for r in report.refused)
    assert ledger.recorder.tree_size() == before + report.applied  # type: ignore[attr-defined]


def valid_leaf() -> bytes:
    return json.dumps({"seq": 0, "aggregate_id": "1" * 32, "version": 1, "type": "PetitionRegistered",
                       "recorded_at": "2021-03-01T09:30:00+08:00",
                       "actor": {"id": "a", "role": "clerk", "unit": "u"}, "payload_sha256": "0" * 64,
                       "prev": "0" * 64}, separators=(",", ":"), sort_keys=True).encode()


@FUZZ
@given(hostile(valid_leaf()))
@example(valid_leaf().replace(b'"a"', b'"\xff"'))  # invalid UTF-8 inside a string: was UnicodeDecodeError
def test_the_leaf_decoder_returns_a_leaf_or_a_decode_error(data: bytes) -> None:
    try:
        decode_leaf(data)
    except UNREADABLE:
        pass


@FUZZ
@given(hostile(NOTE.encode()))
@example(NOTE.encode().replace(b"\n\n", b"\n\x00\n"))
def test_the_signed_note_parser_opens_or_raises_a_note_error(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")  # how any text a witness is handed reaches the parser
    try:
        checkpoint = note.open_checkpoint(text, VERIFIER)
    except note.NoteError as exc:
        assert str(exc)
    else:
        assert checkpoint.origin == ORIGIN


@FUZZ
@given(hostile(VERIFIER.encode()))
@example(b"\x80")  # a lone surrogate as the name: was UnicodeEncodeError
def test_the_verifier_key_parser_parses_or_raises_a_note_error(data: bytes) -> None:
    try:
        note.parse_verifier_key(data.decode("utf-8", "surrogateescape"))
    except note.NoteError as exc:
        assert str(exc)


@FUZZ
@given(hostile(b'{"body":{"basis":{"period":"2021"}},"signature":"x"}'))
@example(b'{"body":"\xff"}')
def test_the_appraisal_reader_returns_an_appraisal_or_refuses(data: bytes) -> None:
    try:
        appraisal.decode(data)
    except InvalidInput as exc:
        assert exc.code in {"bad_json", "not_an_appraisal"} and exc.message
