"""Signed notes and checkpoints: known answers from the Go reference, round trips, refusals."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.note import (
    Checkpoint,
    NoteError,
    format_checkpoint,
    key_hash,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

# The example of golang.org/x/mod/sumdb/note's package documentation: a private key, its
# verifier key and the exact signed note the Go implementation produces with it.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
GO_PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(
    base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
)

ORIGIN = "xinfang.example/county-1"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
VKEY = verifier_key(ORIGIN, KEY.public_key())
CHECKPOINT = Checkpoint(origin=ORIGIN, size=20852163, root=bytes(range(32)))


def _signed_checkpoint() -> str:
    return sign_note(format_checkpoint(CHECKPOINT), ORIGIN, KEY)


def _signature_line(body: str, name: str, key: Ed25519PrivateKey) -> str:
    return sign_note(body, name, key)[len(body) + 1 :]


# --- known answers ----------------------------------------------------------------------------


def test_the_key_hash_matches_the_go_example():
    public = base64.b64decode(GO_VERIFIER_KEY.split("+", 2)[2])[1:]
    assert key_hash("PeterNeumann", public) == bytes.fromhex("c74f20a3")


def test_the_verifier_key_matches_the_go_example_exactly():
    assert verifier_key("PeterNeumann", GO_PRIVATE_KEY.public_key()) == GO_VERIFIER_KEY


def test_a_signed_note_matches_the_go_example_byte_for_byte():
    assert sign_note(GO_TEXT, "PeterNeumann", GO_PRIVATE_KEY) == GO_NOTE


def test_the_go_example_note_opens_with_its_verifier_key():
    assert open_note(GO_NOTE, GO_VERIFIER_KEY) == GO_TEXT


def test_a_parsed_verifier_key_names_its_key_and_hash():
    key = parse_verifier_key(GO_VERIFIER_KEY)
    assert key.name == "PeterNeumann"
    assert key.key_hash == bytes.fromhex("c74f20a3")
    assert verifier_key(key.name, key.public_key) == GO_VERIFIER_KEY


# --- checkpoints ------------------------------------------------------------------------------


def test_a_checkpoint_body_is_origin_size_and_base64_root_on_three_lines():
    root = base64.b64encode(bytes(range(32))).decode()
    assert format_checkpoint(CHECKPOINT) == f"{ORIGIN}\n20852163\n{root}\n"


def test_a_signed_checkpoint_opens_to_the_same_checkpoint():
    note = _signed_checkpoint()
    body, signature = note.split("\n\n")
    assert body + "\n" == format_checkpoint(CHECKPOINT)
    assert signature.startswith(f"\u2014 {ORIGIN} ")
    assert open_checkpoint(note, VKEY) == CHECKPOINT


def test_the_empty_tree_checkpoint_round_trips():
    empty = Checkpoint(origin=ORIGIN, size=0, root=bytes(32))
    assert open_checkpoint(sign_note(format_checkpoint(empty), ORIGIN, KEY), VKEY) == empty


def test_signatures_by_other_keys_are_ignored():
    body = format_checkpoint(CHECKPOINT)
    witness = Ed25519PrivateKey.from_private_bytes(bytes(32))
    note = sign_note(body, ORIGIN, KEY) + _signature_line(body, "witness.example/w1", witness)
    assert open_checkpoint(note, VKEY) == CHECKPOINT


@pytest.mark.parametrize(
    "old, new",
    [
        ("20852163", "20852164"),
        (base64.b64encode(bytes(range(32))).decode()[:4], "AAAA"),
        (ORIGIN, "xinfang.example/county-2"),
    ],
    ids=["size", "root", "origin"],
)
def test_a_tampered_checkpoint_body_is_refused(old, new):
    note = _signed_checkpoint().replace(old, new, 1)
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(note, VKEY)


def test_a_checkpoint_is_refused_under_another_key_with_the_same_name():
    other = verifier_key(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())
    with pytest.raises(NoteError, match="not signed by key"):
        open_checkpoint(_signed_checkpoint(), other)


def test_a_checkpoint_signed_by_a_key_not_named_after_its_origin_is_refused():
    other_key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    note = sign_note(format_checkpoint(CHECKPOINT), "someone.else", other_key)
    with pytest.raises(NoteError, match="is not the key name"):
        open_checkpoint(note, verifier_key("someone.else", other_key.public_key()))


def test_a_signature_from_the_right_key_over_other_text_is_refused():
    body = format_checkpoint(CHECKPOINT)
    forged = body + "\n" + _signature_line("something else\n", ORIGIN, KEY)
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(forged, VKEY)


@pytest.mark.parametrize(
    "body, message",
    [
        (f"{ORIGIN}\n20852163\n", "origin, a size and a root"),
        (f"{ORIGIN}\n020852163\nAAAA\n", "leading zeros"),
        (f"{ORIGIN}\n+1\nAAAA\n", "not a decimal"),
        (f"{ORIGIN}\n\u0661\nAAAA\n", "not a decimal"),
        (f"{ORIGIN}\n1\nAAAA\n", "32-byte hash"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(32)).decode().rstrip('=')}\n", "32-byte hash"),
        (f"\n1\n{base64.b64encode(bytes(32)).decode()}\n", "origin is empty"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(32)).decode()}\nextension\n", "extension"),
    ],
    ids=["two-lines", "leading-zero", "plus-sign", "arabic-digit", "short-root", "unpadded-root",
         "empty-origin", "extension-line"],
)
def test_a_malformed_checkpoint_body_is_refused_even_when_signed(body, message):
    with pytest.raises(NoteError, match=message):
        open_checkpoint(sign_note(body, ORIGIN, KEY), VKEY)


# --- malformed notes and keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    "mangle, message",
    [
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n[:-1], "does not end with a signature line"),
        (lambda n: n + "\n", "does not end with a signature line"),
        (lambda n: n.replace("\u2014", "-"), "em dash"),
        (lambda n: n.replace("\u2014 ", "\u2014"), "em dash"),
        (lambda n: n.replace(f"{ORIGIN} ", f"{ORIGIN}  "), "malformed signature line"),
        (lambda n: n[:-2] + "!\n", "malformed signature line"),
        (lambda n: n.rsplit(" ", 1)[0] + " AAAAAA==\n", "malformed signature line"),
        (lambda n: n.replace("\n", "\r\n", 1), "control character"),
        (lambda n: n.replace("\n", "\t\n", 1), "control character"),
        (lambda n: "\ud800" + n, "not valid UTF-8"),
    ],
    ids=["no-blank-line", "no-final-newline", "trailing-blank-line", "hyphen", "no-space",
         "double-space", "bad-base64", "short-signature", "carriage-return", "tab",
         "lone-surrogate"],
)
def test_a_malformed_note_is_refused(mangle, message):
    with pytest.raises(NoteError, match=message):
        open_checkpoint(mangle(_signed_checkpoint()), VKEY)


def test_a_note_with_too_many_signatures_is_refused():
    note = _signed_checkpoint()
    line = note.split("\n\n")[1]
    with pytest.raises(NoteError, match="more than 100"):
        open_checkpoint(note + line * 100, VKEY)


@pytest.mark.parametrize(
    "key, message",
    [
        (GO_VERIFIER_KEY.replace("c74f20a3", "c74f20a4"), "its key gives c74f20a3"),
        (GO_VERIFIER_KEY.replace("c74f20a3", "c74f20"), "malformed key ID"),
        (GO_VERIFIER_KEY.replace("c74f20a3", "c74f20ag"), "malformed key ID"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid name"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid name"),
        ("PeterNeumann+c74f20a3+", "malformed key data"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "malformed key data"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "algorithm 2"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "29 key bytes"),
        ("PeterNeumann", "malformed key ID"),
    ],
    ids=["wrong-hash", "short-hash", "non-hex-hash", "space-in-name", "empty-name",
         "no-key", "truncated-base64", "other-algorithm", "short-key", "name-only"],
)
def test_a_malformed_verifier_key_is_refused(key, message):
    with pytest.raises(NoteError, match=message):
        parse_verifier_key(key)


def test_a_note_that_does_not_end_in_a_newline_is_not_signed():
    with pytest.raises(NoteError, match="end with a newline"):
        sign_note("no newline", ORIGIN, KEY)


@pytest.mark.parametrize("name", ["", "two words", "a+b", "tab\tname", "nbsp\u00a0name"])
def test_a_key_name_with_spaces_or_plus_is_refused(name):
    with pytest.raises(NoteError, match="invalid key name"):
        sign_note("text\n", name, KEY)
    with pytest.raises(NoteError, match="invalid key name"):
        verifier_key(name, KEY.public_key())


def test_a_checkpoint_that_cannot_be_written_is_refused():
    with pytest.raises(NoteError, match="origin"):
        format_checkpoint(Checkpoint(origin="two\nlines", size=1, root=bytes(32)))
    with pytest.raises(NoteError, match="negative"):
        format_checkpoint(Checkpoint(origin=ORIGIN, size=-1, root=bytes(32)))
    with pytest.raises(NoteError, match="31 bytes"):
        format_checkpoint(Checkpoint(origin=ORIGIN, size=1, root=bytes(31)))
