"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from pytest_django.live_server_helper import LiveServer

# The live server listens on 127.0.0.1, one of the platform's hosts outside production; shops
# are reached as <slug>.localhost on the same port (Chromium resolves *.localhost itself).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[Browser]:
    """A headless Chromium, started after the live server and the database are set up.

    Playwright's sync API keeps an event loop running on this thread, where Django refuses
    database calls: the test reads the database through another thread (tests.support.threads),
    and Playwright stops before the database fixtures tear down.
    """
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
