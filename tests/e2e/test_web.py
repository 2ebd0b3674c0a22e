"""The web pages in a real browser (Debian's chromium, driven by Playwright) against the real
``xinfang serve``: sign-in and sign-out, a revoked token ending an open session, CSRF refusal, the
integrity page, and a case verified by the browser's own WebCrypto — green on an intact ledger, red
naming the edited event on a ledger whose payload was changed behind its back.

Screenshots go to ``var/screenshots/`` (test output, not committed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from support.serve import Server
from support.tamper import Operator, build_county, flip

from ledger.domain.ids import aggregate_id
from ledger.store.leaves import decode_leaf

CASE = "2021-000001"
WIDE = {"width": 1920, "height": 1080}
NARROW = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def screenshots(pytestconfig: pytest.Config) -> Path:
    folder = pytestconfig.rootpath / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_county(tmp: Path, tamper: Any = None) -> Server:
    """A small county ledger with a signed checkpoint, optionally edited before the server starts."""
    server = Server(tmp)
    server.cli("init")
    build_county(server.url)
    server.cli("checkpoint")
    if tamper is not None:
        with Operator(server.url) as operator:
            tamper(operator)
    server.start()
    return server


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_county(tmp_path_factory.mktemp("web"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def inspector(county: Server) -> str:
    """An inspector's token, shared by the tests that do not end it."""
    return county.token("inspector", "county", "inspector-1")


@pytest.fixture(scope="module")
def county_key(county: Server) -> str:
    return verifier_key(county)


def forwarding_seq(operator: Operator) -> int:
    """The log position of the case's second event (its forwarding to town-a)."""
    case_id = str(aggregate_id("case", CASE))
    return next(seq for seq, _, _, leaf, _ in operator.leaves()
                if decode_leaf(leaf).aggregate_id == case_id and decode_leaf(leaf).version == 2)


def verifier_key(server: Server) -> str:
    """The key as the ledger's operator hands it to the inspector, outside the web pages."""
    return server.cli("checkpoint", "--verifier-key").strip()


def sign_in(page: Page, server: Server, token: str, target: str = "/") -> None:
    page.goto(f"{server.base}{target}")
    assert "/signin" in page.url
    page.get_by_label("令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def keep_verifier_key(page: Page, server: Server, key: str) -> None:
    page.goto(f"{server.base}/integrity")
    page.locator("#verifier-key-input").fill(key)
    page.get_by_role("button", name="保存验证公钥").click()
    page.locator("[data-key-status]").filter(has_text="本浏览器保存的验证公钥").wait_for()


def verify_case(page: Page, server: Server) -> Any:
    page.goto(f"{server.base}/cases/{CASE}")
    page.get_by_role("button", name="在浏览器中验证本案").click()
    result = page.locator("#verify-result[data-outcome='ok'], #verify-result[data-outcome='failed']")
    result.wait_for()
    return result


def test_a_bad_token_is_refused_in_chinese(browser: Browser, county: Server, screenshots: Path) -> None:
    page = browser.new_page(viewport=NARROW)
    sign_in(page, county, "xft_not-a-token-anyone-issued")
    assert "/signin" in page.url
    assert page.get_by_role("alert").inner_text().startswith("令牌无效、已吊销或已过期")
    assert page.get_by_label("令牌").input_value() == "", "the token is not echoed back into the form"
    page.screenshot(path=screenshots / "signin-refused.png")
    page.close()


def test_an_inspector_signs_in_sees_the_integrity_page_and_signs_out(
        browser: Browser, county: Server, inspector: str, county_key: str, screenshots: Path) -> None:
    page = browser.new_page(viewport=WIDE)
    sign_in(page, county, inspector, "/integrity")
    assert page.url == f"{county.base}/integrity"
    header = page.locator("header.site .who").inner_text()
    assert "纪检监察人员" in header and "示范县" in header
    assert page.get_by_role("heading", name="最新签名检查点").is_visible()
    assert page.locator("[data-checkpoint]").inner_text().startswith("xinfang-ledger/ledger\n")
    assert page.locator("[data-server-key]").inner_text() == county_key
    assert "xinfang witness --state" in page.locator("pre.command").inner_text()
    assert page.locator("nav[aria-label='主导航'] a[aria-current='page']").inner_text() == "完整性"
    page.screenshot(path=screenshots / "integrity.png", full_page=True)

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/signin?ended=out")
    assert page.get_by_role("status").inner_text() == "已退出登录。"
    page.goto(f"{county.base}/integrity")
    assert "/signin" in page.url
    page.close()


def test_a_revoked_token_ends_the_open_session_within_seconds(browser: Browser, county: Server) -> None:
    token = county.token("handler", "town-a", "handler-a")
    page = browser.new_page(viewport=NARROW)
    sign_in(page, county, token)
    assert page.url == f"{county.base}/"
    county.cli("token", "revoke", hashlib.sha256(token.encode()).hexdigest()[:12])
    for _ in range(60):  # the session is re-checked at most every 5 s; wait for it, boundedly
        page.reload()
        if "/signin" in page.url:
            break
        time.sleep(0.5)
    assert "/signin" in page.url
    assert "会话已结束" in page.get_by_role("status").inner_text()
    page.close()


def test_a_form_without_its_csrf_token_is_refused(browser: Browser, county: Server) -> None:
    page = browser.new_page(viewport=NARROW)
    sign_in(page, county, county.token("clerk", "xfj", "clerk-1"))
    page.locator("form[action='/signout'] input[name='_csrf']").evaluate("field => field.remove()")
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    assert page.locator("[data-code='csrf_refused']").is_visible()
    assert "表单已失效或来自别的网站" in page.get_by_role("alert").inner_text()
    page.goto(f"{county.base}/")
    assert page.url == f"{county.base}/", "the refused sign-out did not end the session"
    page.close()


def test_every_field_has_a_label_and_pages_work_with_scripts_off(browser: Browser, county: Server,
                                                                 inspector: str) -> None:
    context = browser.new_context(viewport=NARROW, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, county, inspector, f"/cases/{CASE}")
    assert page.url == f"{county.base}/cases/{CASE}"
    rows = page.locator("table.timeline tbody tr")
    assert rows.count() == 5
    assert page.get_by_text("此功能需要启用 JavaScript。").is_visible()
    for path in ("/", "/integrity", f"/cases/{CASE}", "/cases"):
        page.goto(f"{county.base}{path}")
        unlabelled = page.locator("input:not([type=hidden]), textarea, select").evaluate_all(
            "fields => fields.filter(f => !f.labels.length && !f.getAttribute('aria-label')).map(f => f.outerHTML)")
        assert unlabelled == [], path
    context.close()


def test_the_browser_verifies_an_intact_case(browser: Browser, county: Server, inspector: str, county_key: str,
                                             screenshots: Path) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    requested: list[str] = []
    failures: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failures.append(f"{request.url} {request.failure}")
            if request.failure != "net::ERR_ABORTED" else None)  # cancelled by the next navigation
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.on("console", lambda message: failures.append(message.text) if message.type == "error" else None)
    sign_in(page, county, inspector)
    keep_verifier_key(page, county, county_key)
    assert "与服务器公布的一致" in page.locator("[data-key-status]").first.inner_text()
    result = verify_case(page, county)
    assert result.get_attribute("data-outcome") == "ok", result.inner_text()
    assert failures == [], failures
    assert [url for url in requested if not url.startswith(county.base + "/")] == [], "everything ships with the package"
    assert f"{county.base}/static/vendor/htmx-4.0.1/htmx.min.js" in requested
    assert result.inner_text().startswith("验证通过：本案 5 个事件都在 xinfang-ledger/ledger 的签名检查点")
    assert "事件内容与叶子相符" in result.inner_text()
    page.screenshot(path=screenshots / "case-verified.png", full_page=True)
    context.close()


def test_a_key_the_inspector_did_not_get_from_this_ledger_is_not_trusted(browser: Browser, county: Server,
                                                                         inspector: str, tmp_path: Path) -> None:
    other = Server(tmp_path)
    other.cli("init")
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    sign_in(page, county, inspector)
    keep_verifier_key(page, county, verifier_key(other))
    result = verify_case(page, county)
    assert result.get_attribute("data-outcome") == "failed"
    assert result.inner_text() == "验证失败：检查点没有您保存的验证公钥的签名"
    context.close()
    other.stop()


def test_the_browser_names_the_event_whose_payload_was_edited(browser: Browser, tmp_path: Path,
                                                             screenshots: Path) -> None:
    edited: list[int] = []

    def move_the_case_to_another_township(operator: Operator) -> None:
        seq = forwarding_seq(operator)
        _, _, _, state = operator.event(seq)
        operator.set_state(seq, flip(state, b'"to_unit":"town-a"', b'"to_unit":"town-b"'))
        edited.append(seq)

    server = start_county(tmp_path, move_the_case_to_another_township)
    try:
        context = browser.new_context(viewport=WIDE)
        page = context.new_page()
        sign_in(page, server, server.token("inspector", "county", "inspector-1"))
        keep_verifier_key(page, server, verifier_key(server))
        result = verify_case(page, server)
        assert result.get_attribute("data-outcome") == "failed"
        assert result.get_attribute("data-code") == "payload_changed"
        assert result.get_attribute("data-seq") == str(edited[0])
        assert result.inner_text() == (f"验证失败：序号 {edited[0]}、版本 2 的事件“转送”——"
                                       "事件内容与叶子中的哈希不符：内容被改动")
        assert "failed" in (page.locator(f"tr[data-seq='{edited[0]}']").get_attribute("class") or "").split()
        page.screenshot(path=screenshots / "case-tampered.png", full_page=True)
        context.close()
    finally:
        server.stop()


CASE_SEQS = [8, 9, 10, 11, 12]
"""Where the case's five events sit in the log: after the county's six units and two officials."""

FORGERIES = """
async ([kind, key]) => {
  const v = await import('/static/verify.js');
  const checkpointText = await (await fetch('/integrity/checkpoint')).text();
  const size = Number(checkpointText.split('\\n')[1]);
  const proof = await (await fetch(`/cases/2021-000001/proof?size=${size}`)).json();
  const events = proof.events;
  const flip = (hex) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
  const hexOf = (text) => [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (kind === 'drop') events.splice(2, 1);
  if (kind === 'swap') [events[1], events[2]] = [events[2], events[1]];
  if (kind === 'payload') events[2].payload = events[2].payload.replace(hexOf('handler-a'), hexOf('handler-b'));
  if (kind === 'path') events[3].proof.inclusion_path[0] = flip(events[3].proof.inclusion_path[0]);
  if (kind === 'tail') events.pop();
  if (kind === 'size') proof.tree_size -= 1;
  const result = await v.verifyCase({ checkpointText, verifierKey: key, proof });
  const event = result.event || {};
  return [result.ok, result.code ?? null, event.seq ?? null, event.version ?? null];
}
"""


@pytest.mark.parametrize(("kind", "expected"), [
    ("none", [True, None, None, None]),
    ("drop", [False, "version_gap", CASE_SEQS[3], 4]),  # the event after the gap is named
    ("swap", [False, "version_gap", CASE_SEQS[2], 3]),
    ("payload", [False, "payload_changed", CASE_SEQS[2], 3]),
    ("path", [False, "inclusion", CASE_SEQS[3], 4]),
    ("tail", [True, None, None, None]),  # a Merkle log proves presence, not absence: the page says what it covered
    ("size", [False, "checkpoint", None, None]),
])
def test_the_verifier_names_the_first_event_a_forged_proof_breaks(browser: Browser, county: Server, inspector: str,
                                                                  county_key: str, kind: str,
                                                                  expected: list[Any]) -> None:
    page = browser.new_page(viewport=NARROW)
    sign_in(page, county, inspector)
    assert page.evaluate(FORGERIES, [kind, county_key]) == expected
    page.close()


def test_the_browser_also_verifies_the_apis_proof_shape(browser: Browser, county: Server, inspector: str,
                                                       county_key: str) -> None:
    """The bearer API's proof is the page's own shape (schemas/proofs.py): the same parser, the same checks."""
    api = httpx.Client(base_url=county.base, headers={"Authorization": f"Bearer {inspector}"}, timeout=10)
    checkpoint = api.get("/api/integrity/checkpoint").text
    proof = api.get(f"/api/cases/{CASE}/proof", params={"size": checkpoint.split("\n")[1]}).json()
    page = browser.new_page(viewport=NARROW)
    sign_in(page, county, inspector)
    result = page.evaluate("""async ([checkpointText, verifierKey, proof]) => {
      const v = await import('/static/verify.js');
      return await v.verifyCase({ checkpointText, verifierKey, proof });
    }""", [checkpoint, county_key, proof])
    assert result["ok"] is True
    assert result["events"] == CASE_SEQS
    page.close()
    api.close()
