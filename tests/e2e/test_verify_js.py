"""verify.js — the verifier the inspector's browser runs — judged in chromium against the published
RFC 9162 vectors and against the ledger's own Python: every inclusion proof of small trees and
their corruptions, and signed checkpoints changed at random (hypothesis), where the browser must
accept exactly what :func:`ledger.integrity.note.open_checkpoint` accepts.

The page is served by Playwright's request routing on a loopback address, which the browser
treats as a secure context (WebCrypto is only offered there); no server runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page, Route

import api.web
from ledger import merkle
from ledger.integrity import note

STATIC = Path(api.web.__file__).parent / "static"
ORIGIN = "http://127.0.0.1:9"
VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "rfc9162.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page()

    def serve(route: Route) -> None:
        path = urlsplit(route.request.url).path
        if path == "/":
            route.fulfill(body="<!doctype html><title>verify.js</title>", content_type="text/html")
        else:
            route.fulfill(path=STATIC / path.lstrip("/"), content_type="text/javascript")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page
    page.close()


def run(page: Page, body: str, arg: Any) -> Any:
    """``body`` inside an async function with ``v`` = the verify.js module and ``arg``."""
    return page.evaluate(f"async (arg) => {{ const v = await import('/verify.js'); {body} }}", arg)


INCLUSION = """
  const out = [];
  for (const c of arg) {
    try {
      const leaf = await v.leafHash(v.fromHex(c.leaf));
      const root = await v.rootFromInclusion(c.index, c.size, leaf, c.path.map(v.fromHex));
      out.push(v.toHex(root) === c.root);
    } catch (error) {
      out.push(false);
    }
  }
  return out;
"""


def test_the_published_inclusion_proofs_are_accepted(page: Page) -> None:
    cases = [{"index": c["leaf_index"], "size": c["tree_size"], "leaf": c["leaf_hex"], "path": c["path"],
              "root": c["root"]} for c in VECTORS["inclusion"]]
    assert run(page, INCLUSION, cases) == [True] * len(cases)


def test_every_inclusion_probe_is_judged_as_upstream_expects(page: Page) -> None:
    probes = VECTORS["inclusion_probes"]
    verdicts = run(page, """
      const out = [];
      for (const p of arg) {
        try {
          const root = await v.rootFromInclusion(p.leafIdx, p.treeSize, v.fromHex(p.leafHash), p.proof.map(v.fromHex));
          out.push(v.toHex(root) === p.root);
        } catch (error) {
          out.push(false);
        }
      }
      return out;
    """, probes)
    assert verdicts == [not p["wantErr"] for p in probes], [p["file"] for p, ok in zip(probes, verdicts, strict=True)
                                                             if ok == p["wantErr"]]


def small_tree_proofs(largest: int) -> list[dict[str, Any]]:
    """Every (leaf, tree size) up to ``largest`` leaves, proven by the ledger's Python."""
    leaves = [f"leaf {i}".encode() for i in range(largest)]
    nodes: dict[merkle.Key, bytes] = {}
    tree = merkle.CompactRange()
    for leaf in leaves:
        for level, index, value in tree.append(merkle.leaf_hash(leaf)):
            nodes[level, index] = value
    cases = []
    for size in range(1, largest + 1):
        root = merkle.root_at(size, nodes).hex()
        for index in range(size):
            path = [h.hex() for h in merkle.inclusion_proof(index, size, nodes)]
            cases.append({"index": index, "size": size, "leaf": leaves[index].hex(), "path": path, "root": root})
    return cases


def test_the_browser_agrees_with_the_ledger_on_every_proof_of_small_trees(page: Page) -> None:
    cases = small_tree_proofs(33)
    assert run(page, INCLUSION, cases) == [True] * len(cases)


def test_the_browser_rejects_every_corrupted_proof(page: Page) -> None:
    corrupted = []
    for case in small_tree_proofs(17):
        for i in range(len(case["path"])):
            flipped = bytes.fromhex(case["path"][i])
            path = [*case["path"][:i], (bytes([flipped[0] ^ 1]) + flipped[1:]).hex(), *case["path"][i + 1:]]
            corrupted.append({**case, "path": path})
        corrupted.append({**case, "path": case["path"][:-1]} if case["path"] else {**case, "path": ["00" * 32]})
        corrupted.append({**case, "leaf": case["leaf"] + "00"})
    assert run(page, INCLUSION, corrupted) == [False] * len(corrupted)


ORIGIN_NAME = "xinfang-ledger/示范县"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
VERIFIER = note.verifier_key(ORIGIN_NAME, KEY.public_key())
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
CHECKPOINT = note.sign_note(note.format_checkpoint(note.Checkpoint(ORIGIN_NAME, 1234, bytes(range(32)))),
                            ORIGIN_NAME, KEY)
COSIGNED = CHECKPOINT + note.sign_note("x\n", "witness.example", OTHER).split("\n\n", 1)[1]

OPEN = """
  const key = await v.parseVerifierKey(arg.key);
  const out = [];
  for (const text of arg.notes) {
    try {
      const c = await v.openCheckpoint(text, key);
      out.push([c.size, v.toHex(c.root)]);
    } catch (error) {
      if (!(error instanceof v.VerifyError)) throw error;
      out.push(null);
    }
  }
  return out;
"""


def python_verdict(text: str) -> list[Any] | None:
    try:
        checkpoint = note.open_checkpoint(text, VERIFIER)
    except note.NoteError:
        return None
    return [checkpoint.size, checkpoint.root.hex()]


def test_a_signed_checkpoint_is_opened_and_a_foreign_signature_is_ignored(page: Page) -> None:
    notes = [CHECKPOINT, COSIGNED]
    assert run(page, OPEN, {"key": VERIFIER, "notes": notes}) == [[1234, bytes(range(32)).hex()]] * 2


def test_a_checkpoint_signed_by_another_key_is_refused(page: Page) -> None:
    other_verifier = note.verifier_key(ORIGIN_NAME, OTHER.public_key())
    assert run(page, OPEN, {"key": other_verifier, "notes": [CHECKPOINT]}) == [None]


edit = st.tuples(st.integers(min_value=0, max_value=len(CHECKPOINT)), st.integers(min_value=0, max_value=3),
                 st.sampled_from(["", "0", "1", "\n", " ", "+", "=", "A", "—", "示", "\t", "/"]))


@settings(max_examples=30)
@given(st.lists(st.lists(edit, min_size=1, max_size=3), min_size=1, max_size=20),
       st.sampled_from([CHECKPOINT, COSIGNED]))
def test_the_browser_accepts_exactly_the_notes_the_ledger_accepts(page: Page, edit_lists: list[list[Any]],
                                                                  original: str) -> None:
    notes = []
    for edits in edit_lists:
        text = original
        for at, length, replacement in edits:
            text = text[:at] + replacement + text[at + length:]
        notes.append(text)
    assert run(page, OPEN, {"key": VERIFIER, "notes": notes}) == [python_verdict(text) for text in notes]
