"""The web pages in process, on SQLite and PostgreSQL: sign-in, sessions, CSRF, and case visibility
that is the API's, not a second rule. (The browser itself is driven in tests/e2e/test_web.py.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import msgspec
import pytest
from api_world import TOKENS, World, build_world
from support.postgres import postgres_database

from api.web.session import RECHECK_SECONDS, SESSION_COOKIE, WebSessions
from ledger.sessions import SessionStore
from ledger.tokens import TokenStore
from support.county import START, command

CSRF = re.compile(r'name="_csrf" value="([0-9a-f]{64})"')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One county per engine for the whole module: these tests open and close sessions, and the only
    writes they make are checked by their own before/after counts."""
    tmp = tmp_path_factory.mktemp("web")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        patch.setenv("XINFANG_KEY_FILE", str(tmp / "ledger.key"))
        url = f"sqlite:///{tmp}/ledger.sqlite3"
        if request.param == "postgres":
            url = stack.enter_context(postgres_database(request.getfixturevalue("postgres_admin"), "xinfang_web"))
        yield from build_world(url, tmp / "ledger.key")


def session_rows(world: World) -> int:
    with SessionStore(world.url) as store, store._lock:
        return int(store._execute("SELECT COUNT(*) FROM web_sessions").fetchone()[0])


def sign_in_form(world: World, target: str = "/") -> str:
    """Open the sign-in page (which sets its cookie) and return the form's CSRF token."""
    page = world.client.get(f"/signin?next={target}")
    assert page.status_code == 200
    match = CSRF.search(page.text)
    assert match is not None
    return match.group(1)


def sign_in(world: World, who: str, target: str = "/") -> Any:
    world.client.cookies.clear()
    csrf = sign_in_form(world, target)
    return world.client.post("/signin", data={"token": world.tokens[who], "_csrf": csrf, "next": target},
                             follow_redirects=False)


def page_csrf(world: World, path: str = "/") -> str:
    match = CSRF.search(world.client.get(path).text)
    assert match is not None
    return match.group(1)


def test_a_page_without_a_session_leads_to_sign_in_and_back(world: World) -> None:
    world.client.cookies.clear()
    response = world.client.get("/cases/A-1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/cases/A-1"
    signed = sign_in(world, "handler-a", "/cases/A-1")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/cases/A-1"
    case = world.client.get("/cases/A-1")
    assert case.status_code == 200
    assert "承办人" in case.text and "甲镇" in case.text  # the actor's role and unit by name in the header


def test_the_session_cookie_is_http_only_same_site_and_holds_no_token(world: World) -> None:
    response = sign_in(world, "inspector")
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP here; set when the request came over HTTPS
    assert world.tokens["inspector"] not in cookie


@pytest.mark.parametrize("token", ["", "xft_guessed", "Bearer xft_x", "随便", "x" * 5000])
def test_a_bad_token_is_refused_in_chinese_and_opens_nothing(world: World, token: str) -> None:
    world.client.cookies.clear()
    size, sessions = world.size(), session_rows(world)
    csrf = sign_in_form(world)
    response = world.client.post("/signin", data={"token": token, "_csrf": csrf}, follow_redirects=False)
    assert response.status_code == 400
    assert 'data-code="invalid_token"' in response.text
    assert "令牌无效、已吊销或已过期" in response.text
    assert not token or token not in response.text, "a token is never echoed"
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert session_rows(world) == sessions
    assert world.size() == size
    assert world.client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_token_cannot_sign_in(world: World) -> None:
    with TokenStore(world.url) as store:
        token = store.create(TOKENS["clerk"], label="revoked")
        store.revoke(hashlib.sha256(token.encode()).hexdigest()[:12])
    world.client.cookies.clear()
    sessions = session_rows(world)
    csrf = sign_in_form(world)
    response = world.client.post("/signin", data={"token": token, "_csrf": csrf}, follow_redirects=False)
    assert response.status_code == 400
    assert session_rows(world) == sessions


def test_sign_out_ends_the_session(world: World) -> None:
    sign_in(world, "inspector")
    sessions = session_rows(world)
    out = world.client.post("/signout", data={"_csrf": page_csrf(world)}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/signin?ended=out"
    assert session_rows(world) == sessions - 1
    assert world.client.get("/", follow_redirects=False).headers["location"] == "/signin?next=/"


@pytest.mark.parametrize("supplied", [None, "", "0" * 64, "not-hex"])
def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(world: World,
                                                                              supplied: str | None) -> None:
    sign_in(world, "inspector")
    sessions = session_rows(world)
    data = {} if supplied is None else {"_csrf": supplied}
    refused = world.client.post("/signout", data=data, follow_redirects=False)
    assert refused.status_code == 403
    assert 'data-code="csrf_refused"' in refused.text
    assert "表单已失效或来自别的网站" in refused.text
    assert session_rows(world) == sessions
    assert world.client.get("/", follow_redirects=False).status_code == 200


def test_the_sign_in_form_is_protected_too(world: World) -> None:
    world.client.cookies.clear()
    sessions = session_rows(world)
    sign_in_form(world)
    response = world.client.post("/signin", data={"token": world.tokens["admin"]}, follow_redirects=False)
    assert response.status_code == 403
    assert 'data-code="csrf_refused"' in response.text
    assert session_rows(world) == sessions


def test_scripts_may_send_the_csrf_token_as_a_header(world: World) -> None:
    sign_in(world, "inspector")
    sessions = session_rows(world)
    out = world.client.post("/signout", headers={"X-CSRF-Token": page_csrf(world)}, follow_redirects=False)
    assert out.status_code == 303
    assert session_rows(world) == sessions - 1


def test_the_bearer_api_is_untouched_by_sessions_and_csrf(world: World) -> None:
    """The API takes no CSRF token (a browser never attaches a bearer token by itself) and no session
    cookie (so a cross-site form cannot reach it with the inspector's session)."""
    body = command("RegisterPetition", START, number="W-1", home_township="town-a")
    assert world.post("/api/cases", msgspec.to_builtins(body), who="clerk").status_code == 201
    sign_in(world, "admin")
    size = world.size()
    unsigned = msgspec.to_builtins(command("RegisterPetition", START, number="W-2"))
    without_bearer = world.post("/api/cases", unsigned, who=None)
    assert without_bearer.status_code == 401
    assert without_bearer.headers["content-type"].startswith("application/problem+json")
    assert world.size() == size


@pytest.mark.parametrize("target", ["//elsewhere.example/x", "https://elsewhere.example/", "/\\elsewhere.example",
                                    "javascript:alert(1)", "/signin"])
def test_after_sign_in_the_browser_never_leaves_the_site(world: World, target: str) -> None:
    world.client.cookies.clear()
    csrf = sign_in_form(world)
    response = world.client.post("/signin", data={"token": world.tokens["inspector"], "_csrf": csrf, "next": target},
                                 follow_redirects=False)
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("who", list(TOKENS))
def test_a_case_page_shows_exactly_what_the_api_shows(world: World, who: str) -> None:
    """Pages ask the same policy as the API: the 检举 J-1 is 404 for town-a, its head and the
    village below it, by URL as by the API; so is another township's case."""
    sign_in(world, who)
    for number in ("A-1", "B-1", "J-1"):
        api = world.get(f"/api/cases/{number}", who=who).status_code
        page = world.client.get(f"/cases/{number}").status_code
        proof = world.client.get(f"/cases/{number}/proof").status_code
        assert (page, proof) == (api, api), (who, number)


def test_the_township_handler_gets_a_not_found_page_for_the_case_accusing_it(world: World) -> None:
    sign_in(world, "handler-a")
    response = world.client.get("/cases/J-1")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "检举" not in response.text
    assert "案件 J-1 不存在" in response.text


def test_unknown_addresses_answer_a_page_outside_the_api_and_a_problem_inside(world: World) -> None:
    sign_in(world, "inspector")
    assert world.client.get("/no/such/page").headers["content-type"].startswith("text/html")
    assert world.client.get("/api/no/such").headers["content-type"].startswith("application/problem+json")


def test_a_worker_rechecks_a_session_within_seconds_of_a_revocation(database_url: str) -> None:
    ticks = [1000.0]
    with SessionStore(database_url) as store:
        sessions = WebSessions(store, monotonic=lambda: ticks[0])
        token = store.create(TOKENS["inspector"])
        session_id, _ = sessions.sign_in(token) or ("", None)
        assert sessions.actor(session_id) == TOKENS["inspector"]
        with TokenStore(database_url) as other_worker:
            other_worker.revoke(hashlib.sha256(token.encode()).hexdigest()[:12])
        ticks[0] += RECHECK_SECONDS - 0.5
        assert sessions.actor(session_id) == TOKENS["inspector"], "within the interval the worker trusts its cache"
        ticks[0] += 0.5
        assert sessions.actor(session_id) is None
    assert RECHECK_SECONDS <= 5


def test_signing_out_on_a_worker_forgets_its_cached_session(database_url: str) -> None:
    with SessionStore(database_url) as store:
        sessions = WebSessions(store, monotonic=lambda: 0.0)
        session_id, _ = sessions.sign_in(store.create(TOKENS["inspector"])) or ("", None)
        assert sessions.actor(session_id) == TOKENS["inspector"]
        sessions.sign_out(session_id)
        assert sessions.actor(session_id) is None


def test_pages_are_not_cached_nor_framed_and_run_only_this_sites_scripts(world: World) -> None:
    sign_in(world, "inspector")
    for path in ("/", "/integrity", "/cases/A-1", "/signin"):
        headers = world.client.get(path).headers
        assert headers["cache-control"] == "no-store", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # default-src 'self' applies to scripts
        assert headers["x-content-type-options"] == "nosniff"
