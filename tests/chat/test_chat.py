"""Chat over the real server: lobby, booths, DMs, history paging and resume."""


async def test_lobby_message_reaches_everyone_and_acks_stored_id(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    sent = await alice.ok("chat:send", {"channel": "lobby", "text": "  Bonjour à tous  "})
    assert sent["text"] == "Bonjour à tous"
    assert sent["author"]["name"] == "Alice"
    assert sent["id"]
    got = await bob.wait_for("chat:message")
    assert got == sent
    history = await bob.ok("chat:history", {"channel": "lobby"})
    assert [m["id"] for m in history["messages"]] == [sent["id"]]


async def test_booth_chat_requires_entering_and_stays_in_the_booth(node):
    visitor = await node.client(name="Visitor")
    staff = await node.client("exhibitor", name="Staff")
    outsider = await node.client(name="Outsider")
    await visitor.refused("chat:send", {"channel": "booth:demo-b3", "text": "hi"}, "not_in_booth")
    await visitor.ok("booth:enter", {"booth_id": "demo-b3"})
    await staff.ok("booth:enter", {"booth_id": "demo-b3"})
    msg = await visitor.ok("chat:send", {"channel": "booth:demo-b3", "text": "Price list?"})
    assert (await staff.wait_for("chat:message"))["id"] == msg["id"]
    await visitor.ok("chat:send", {"channel": "lobby", "text": "sync"})
    await outsider.wait_for("chat:message", lambda m: m["text"] == "sync")
    assert not outsider.received("chat:message", lambda m: m["channel"] == "booth:demo-b3")
    await visitor.refused("chat:send", {"channel": "booth:nope", "text": "x"}, "booth_not_found")
    await visitor.refused("chat:send", {"channel": "elsewhere", "text": "x"}, "bad_channel")


async def test_history_pages_backwards_without_gaps_or_repeats(any_node):
    alice = await any_node.client()
    sent = []
    for i in range(25):
        sent.append((await alice.ok("chat:send", {"channel": "lobby", "text": f"m{i}"}))["id"])
    pages, before = [], None
    while True:
        payload = {"channel": "lobby", "limit": 10, **({"before": before} if before else {})}
        page = await alice.ok("chat:history", payload)
        pages.append([m["id"] for m in page["messages"]])
        if not page["has_more"]:
            break
        before = page["messages"][0]["id"]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for p in reversed(pages) for i in p] == sent


async def test_resume_with_since_returns_exactly_the_missed_messages(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    first = await alice.ok("chat:send", {"channel": "lobby", "text": "before"})
    await bob.wait_for("chat:message", lambda m: m["id"] == first["id"])
    last_seen = bob.received("chat:message")[-1]["id"]
    await bob.close()
    missed = [
        (await alice.ok("chat:send", {"channel": "lobby", "text": f"while away {i}"}))["id"]
        for i in range(3)
    ]
    await bob.connect()
    resumed = await bob.ok("chat:history", {"channel": "lobby", "since": last_seen})
    assert [m["id"] for m in resumed["messages"]] == missed
    assert resumed["has_more"] is False
    # since the newest id: nothing
    empty = await bob.ok("chat:history", {"channel": "lobby", "since": missed[-1]})
    assert empty["messages"] == []


async def test_since_pages_forward_when_much_was_missed(node):
    alice = await node.client()
    ids = []
    for i in range(12):
        ids.append((await alice.ok("chat:send", {"channel": "lobby", "text": str(i)}))["id"])
    page = await alice.ok("chat:history", {"channel": "lobby", "since": ids[1], "limit": 5})
    assert [m["id"] for m in page["messages"]] == ids[2:7] and page["has_more"]
    page = await alice.ok("chat:history", {"channel": "lobby", "since": ids[6], "limit": 5})
    assert [m["id"] for m in page["messages"]] == ids[7:12] and not page["has_more"]


async def test_direct_messages_reach_only_the_pair_on_all_their_tabs(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    eve = await any_node.client(name="Eve")
    bob_tab2 = type(bob)(any_node.base_url, bob.token)
    any_node.clients.append(bob_tab2)
    await bob_tab2.connect()
    msg = await alice.ok("chat:send", {"channel": f"dm:{bob.person['id']}", "text": "psst"})
    pair = sorted([alice.person["id"], bob.person["id"]])
    assert msg["channel"] == f"dm:{pair[0]}:{pair[1]}"
    await bob.wait_for("chat:message", lambda m: m["id"] == msg["id"])
    await bob_tab2.wait_for("chat:message", lambda m: m["id"] == msg["id"])
    await alice.wait_for("chat:message", lambda m: m["id"] == msg["id"])
    # bob answers on the canonical name; eve can neither read nor write it
    await bob.ok("chat:send", {"channel": msg["channel"], "text": "yes?"})
    await eve.refused("chat:history", {"channel": msg["channel"]}, "forbidden")
    await eve.refused("chat:send", {"channel": msg["channel"], "text": "hi"}, "forbidden")
    history = await alice.ok("chat:history", {"channel": f"dm:{bob.person['id']}"})
    assert [m["text"] for m in history["messages"]] == ["psst", "yes?"]
    assert not eve.received("chat:message")
    await alice.refused(
        "chat:send", {"channel": f"dm:{alice.person['id']}", "text": "me"}, "bad_channel"
    )
    await alice.refused("chat:send", {"channel": "dm:p-nobody", "text": "?"}, "person_not_found")


async def test_booth_chat_is_read_from_inside_except_by_staff_and_moderators(node):
    visitor = await node.client()
    staff = await node.client("exhibitor")
    mod = await node.client("moderator")
    await visitor.ok("booth:enter", {"booth_id": "demo-b3"})
    await visitor.ok("chat:send", {"channel": "booth:demo-b3", "text": "inside"})
    await visitor.ok("booth:leave")
    await visitor.refused("chat:history", {"channel": "booth:demo-b3"}, "not_in_booth")
    for reader in (staff, mod):  # they oversee the booth without standing in it
        history = await reader.ok("chat:history", {"channel": "booth:demo-b3"})
        assert [m["text"] for m in history["messages"]] == ["inside"]
    await staff.refused("chat:send", {"channel": "booth:demo-b3", "text": "x"}, "not_in_booth")
    await visitor.refused("chat:history", {"channel": "session:demo-s1"}, "not_in_session")
    await visitor.ok("session:enter", {"session_id": "demo-s1"})
    await visitor.ok("chat:send", {"channel": "session:demo-s1", "text": "Question about VAT"})
    await visitor.refused("chat:send", {"channel": "dm:a:b:c", "text": "x"}, "bad_channel")
