"""Fixtures of the end-to-end tests: a county built through the real command line, and Debian's chromium
driven by Playwright (its own browser download does not work offline).

Without ``/usr/bin/chromium`` the browser tests are skipped, or fail when ``XINFANG_REQUIRE_BROWSER=1``
(CI, which installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from support.cli import build_county

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def county(database_url: str, tmp_path: Path) -> str:
    return build_county(database_url, tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("XINFANG_REQUIRE_BROWSER") == "1":
            pytest.fail("浏览器测试需要 /usr/bin/chromium（apt-get install chromium），本次运行要求浏览器测试")
        pytest.skip("没有 /usr/bin/chromium，跳过浏览器测试（apt-get install chromium）")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
