"""Helpers for browser tests: what the page shows in each language, and joining an
event the way a person does (Debian Chromium + Playwright)."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from rooms.errors import CATALOG

try:
    from playwright.async_api import Page, expect
except ImportError:  # the fixtures skip (or fail on CI) before expect is needed
    Page = expect = None

STATIC = Path(__file__).resolve().parent.parent / "static"  # tests/ -> the checkout
LANGUAGES = ("en", "fr", "de")
SCREENSHOTS = Path("/tmp")


def page_strings(lang: str) -> dict[str, str]:
    """The client's own dictionary, as in static/i18n/<lang>.json."""
    return json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def strings(lang: str) -> dict[str, str]:
    """Everything the page can show, as the client merges it: its dictionary and the
    error texts of the server's catalog under "error.<code>"."""
    texts = {f"error.{code}": error.text(lang) for code, error in CATALOG.items()}
    return {**page_strings(lang), **texts}


def unique(name: str) -> str:
    """Names differ per test run: the server is shared by the whole session."""
    return f"{name} {secrets.token_hex(2)}"


async def join(
    page: Page,
    invite: str,
    name: str,
    *,
    company: str,
    country: str,
    sector: str,
    language: str = "en",
) -> None:
    """Fill the invite form and wait for the lobby."""
    await page.goto(invite)
    form = page.get_by_test_id("join-form")
    await form.get_by_label(strings("en")["join.name"]).wait_for()
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join-company").fill(company)
    await page.get_by_test_id("join-country").select_option(country)
    await page.get_by_test_id("join-sector").fill(sector)
    await page.get_by_test_id("join-language").select_option(language)
    await page.get_by_test_id("join-submit").click()
    await expect(page.get_by_test_id("view-lobby")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/$|/#/$"))  # the invite link is gone
    await expect(page.get_by_test_id("directory").locator("li").first).to_be_visible()


def directory_links(page: Page):
    return page.get_by_test_id("directory").locator('a[data-testid^="booth-"]')


class Cable:
    """Playwright stands between the page and the server's websocket, so a test can
    pull the plug and refuse reconnects for a while (offline emulation does not
    reliably close an open websocket). Use with
    ``page.route_web_socket(re.compile(r"/socket\\.io/"), cable.handle)``."""

    def __init__(self) -> None:
        self.plugged = True
        self.routes = []

    async def handle(self, page_side) -> None:
        if not self.plugged:
            await page_side.close(code=4000, reason="test: offline")
            return
        self.routes += [page_side, page_side.connect_to_server()]

    async def unplug(self) -> None:
        self.plugged = False
        for route in self.routes:
            await route.close(code=4000, reason="test: offline")
        self.routes.clear()
