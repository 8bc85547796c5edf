"""The browser client against a real server: join, booth chat, language switch,
live presence, the directory filter and error texts (Debian Chromium + Playwright)."""

from __future__ import annotations

import re
import secrets

from browser_pages import (
    CATALOG,
    LANGUAGES,
    SCREENSHOTS,
    STATIC,
    Cable,
    directory_links,
    join,
    page_strings,
    strings,
    unique,
)

try:
    from playwright.async_api import expect
except ImportError:  # the fixtures skip (or fail on CI) before expect is needed
    expect = None


async def test_booth_chat_reaches_the_other_person(fairhall_server, new_page):
    invites = fairhall_server.invites
    visitor, exhibitor = await new_page(), await new_page()
    visitor_name, exhibitor_name = unique("Claire Martin"), unique("Jonas Weber")
    await join(
        visitor,
        invites["participant"],
        visitor_name,
        company="Lyon Export Conseil",
        country="FR",
        sector="Consulting",
    )
    await join(
        exhibitor,
        invites["exhibitor"],
        exhibitor_name,
        company="EcoTherm Solutions",
        country="FR",
        sector="Eco-technologies",
    )

    for page in (visitor, exhibitor):
        await page.get_by_test_id("booth-demo-b3").click()
        await expect(page.get_by_test_id("booth-company")).to_have_text("EcoTherm Solutions")
    booth = visitor.get_by_test_id("view-booth")
    # who is here now, live: the exhibitor came in after the visitor
    await expect(booth.get_by_test_id("booth-present")).to_contain_text(exhibitor_name)
    # the edit form is the staff's: the exhibitor has it, the visitor has not
    await expect(exhibitor.get_by_test_id("booth-edit")).to_be_visible()
    await expect(visitor.get_by_test_id("booth-edit")).to_be_hidden()

    text = f"Bonjour! Do you ship heat exchangers to Bavaria? ({secrets.token_hex(3)})"
    await booth.get_by_test_id("chat-input").fill(text)
    await booth.get_by_test_id("chat-send").click()

    received = exhibitor.get_by_test_id("view-booth").get_by_test_id("chat-messages")
    await expect(received.get_by_text(text, exact=True)).to_be_visible()
    await expect(received.get_by_test_id("chat-message").last).to_contain_text(visitor_name)
    await exhibitor.screenshot(path=SCREENSHOTS / "fairhall-booth.png")


async def test_language_switch_changes_the_page(fairhall_server, new_page):
    en, fr = strings("en"), strings("fr")
    page = await new_page()
    await join(
        page,
        fairhall_server.invites["participant"],
        unique("Anna Keller"),
        company="Keller Maschinenbau",
        country="DE",
        sector="Industry",
    )

    title, send = page.get_by_test_id("directory-title"), page.get_by_test_id("chat-send")
    await expect(title).to_have_text(en["lobby.directory"])
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    await page.get_by_test_id("lang-fr").click()
    await expect(title).to_have_text(fr["lobby.directory"])
    await expect(send.first).to_have_text(fr["chat.send"])
    await expect(page.get_by_test_id("directory-q")).to_have_attribute(
        "placeholder", fr["directory.searchPlaceholder"]
    )
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.get_by_test_id("lang-fr")).to_have_attribute("aria-pressed", "true")

    # a reload keeps both the session (token) and the chosen language
    await page.reload()
    await expect(page.get_by_test_id("view-lobby")).to_be_visible()
    await expect(title).to_have_text(fr["lobby.directory"])


async def test_online_list_is_live_and_directory_filters_by_sector(fairhall_server, new_page):
    invites = fairhall_server.invites
    host = await new_page()
    await join(
        host,
        invites["participant"],
        unique("Sophie Durand"),
        company="Durand Logistique",
        country="FR",
        sector="Logistics",
    )

    # someone arrives: the lobby shows them without a reload, and drops them on leaving
    guest_name = unique("Lukas Brandt")
    guest = await new_page()
    await join(
        guest,
        invites["moderator"],
        guest_name,
        company="IHK Freiburg",
        country="DE",
        sector="Chamber of commerce",
    )
    online = host.get_by_test_id("online-list")
    await expect(online.get_by_text(guest_name, exact=True)).to_be_visible()
    await expect(online.get_by_text(guest_name, exact=True).locator("..")).to_contain_text(
        strings("en")["role.moderator"]
    )

    links = directory_links(host)
    everything = await links.count()
    await host.get_by_test_id("directory-sector").select_option("Logistics")
    await expect(links).not_to_have_count(everything)
    narrowed = await links.count()
    assert 0 < narrowed < everything
    for card in await host.get_by_test_id("directory").locator("li").all():
        await expect(card.locator(".tag").first).to_have_text("Logistics")
    await host.screenshot(path=SCREENSHOTS / "fairhall-lobby.png")

    await guest.context.close()
    await expect(online.get_by_text(guest_name, exact=True)).to_have_count(0)


async def test_reconnect_fetches_exactly_the_missed_messages(fairhall_server, new_page):
    invites = fairhall_server.invites
    reader, writer = await new_page(), await new_page()
    cable = Cable()
    await reader.route_web_socket(re.compile(r"/socket\.io/"), cable.handle)
    await join(
        reader,
        invites["participant"],
        unique("Marie Favre"),
        company="Favre SA",
        country="CH",
        sector="Health",
    )
    await join(
        writer,
        invites["participant"],
        unique("Tom Becker"),
        company="Becker KG",
        country="DE",
        sector="Health",
    )

    tag = secrets.token_hex(3)
    chat = writer.get_by_test_id("view-lobby")
    log = reader.get_by_test_id("view-lobby").get_by_test_id("chat-messages")
    await chat.get_by_test_id("chat-input").fill(f"seen {tag}")
    await chat.get_by_test_id("chat-send").click()
    await expect(log.get_by_text(f"seen {tag}", exact=True)).to_be_visible()  # the cursor

    await cable.unplug()
    status = reader.get_by_test_id("connection-status")
    await expect(status).to_have_text(strings("en")["status.reconnecting"])
    for n in (1, 2):
        await chat.get_by_test_id("chat-input").fill(f"missed {n} {tag}")
        await chat.get_by_test_id("chat-send").click()
        await expect(chat.get_by_text(f"missed {n} {tag}", exact=True)).to_be_visible()
    cable.plugged = True  # socket.io's next retry gets through

    await expect(status).to_have_text(strings("en")["status.online"], timeout=15_000)
    for n in (1, 2):
        await expect(log.get_by_text(f"missed {n} {tag}", exact=True)).to_have_count(1)


def test_translations_have_the_same_keys():
    """Every language has every key, with real text; the page uses no unknown key
    (error texts are the catalog's: tests/protocol/test_error_catalog.py)."""
    dictionaries = {lang: page_strings(lang) for lang in LANGUAGES}
    keys = set(dictionaries["en"])
    for lang, words in dictionaries.items():
        assert set(words) == keys, f"{lang}.json differs: {set(words) ^ keys}"
        assert all(text.strip() for text in words.values()), f"{lang}.json has empty texts"
    html = (STATIC / "index.html").read_text()
    scripts = "".join(path.read_text() for path in sorted((STATIC / "js").rglob("*.js")))
    used = set(re.findall(r'data-i18n="([\w.]+)"', html))
    for pairs in re.findall(r'data-i18n-attr="([^"]+)"', html):
        used |= {pair.split("=")[1] for pair in pairs.split(",")}
    keys |= {f"error.{code}" for code in CATALOG}  # error texts come from the catalog
    # any "area.name" string literal in the scripts whose area is a dictionary area
    areas = "|".join(sorted({key.split(".")[0] for key in keys}))
    used |= set(re.findall(rf'"((?:{areas})\.[\w.]+)"', scripts))
    assert used, "found no keys: the pattern is stale"
    assert used <= keys, f"keys used but not translated: {sorted(used - keys)}"


async def test_error_texts_come_from_the_catalog_in_the_page_language(fairhall_server, new_page):
    """A dead invite link tells a German visitor why in German, from the server's error
    catalog, and switches with the page."""
    page = await new_page(locale="de-DE")
    await page.goto(fairhall_server.base_url + "/join/no-such-invite-code")
    text = page.get_by_test_id("message-text")
    await expect(text).to_have_text(CATALOG["invite_invalid"].de)
    await page.get_by_test_id("lang-fr").click()
    await expect(text).to_have_text(CATALOG["invite_invalid"].fr)
