"""Property-based fuzzing of every declared command on a live node (hypothesis).

Payloads are drawn from the payload structs themselves (tests/payload_strategies.py),
with ids that exist mixed in so handlers get past their lookups, and from almost-valid
and junk JSON. Whatever is sent, by whichever role: every request gets a reply, no
reply is ``internal``, every code is in the catalog, no socket is disconnected (the
sender's, or anyone else's unless a moderator removed that person), and the node logs
no traceback. The outcome counts are in the "measured by the tests" summary.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from harness import Client, Node
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payload_strategies import almost_valid, valid_payloads

from rooms.errors import CATALOG

ROLES = ("participant", "exhibitor", "moderator", "organizer")
FUZZ = settings(
    max_examples=40,  # per command and role mix
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Arena:
    """One node, one client per role that fuzzes, and bystanders that must stay put."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.fuzzers: dict[str, Client] = {}
        self.bystanders: list[Client] = []
        self.known: dict[str, list[str]] = {}
        self.outcomes: Counter[str] = Counter()

    async def setup(self) -> None:
        for role in ROLES:
            self.fuzzers[role] = await self.node.client(role, name=f"Fuzzer {role}")
        organizer = await self.node.client("organizer", name="Bystander Org")
        watcher = await self.node.client(name="Bystander Vic")  # may be muted or removed
        self.bystanders = [organizer, watcher]
        victim = await self.node.register("participant", name="Victim")  # never connected
        state = await organizer.ok("lobby:state")
        room = await organizer.ok("call:create", {"kind": "group", "title": "Fuzz room"})
        visits = await organizer.ok("visit:list")
        sent = await watcher.ok("chat:send", {"channel": "lobby", "text": "fuzz me"})
        people = [organizer.person["id"], watcher.person["id"], victim["person"]["id"]]
        booths = [booth["id"] for booth in await organizer.ok("lobby:directory")]
        sessions = [item["id"] for item in state["schedule"]]
        visit_ids = [v["visit"]["id"] for v in visits]
        self.known = {
            "person_id": people,
            "invitees": people,
            "booth_id": booths,
            "session_id": sessions,
            "visit_id": visit_ids,
            "call_id": [room["id"], "booth:demo-b3", "booth:demo-b1"],
            "channel": [
                "lobby", "booth:demo-b3", f"session:{sessions[0]}", f"visit:{visit_ids[0]}",
                f"dm:{organizer.person['id']}",
            ],
            "id": [sent["id"]],
            "*": [*people, *booths, *sessions, *visit_ids, room["id"]],
        }  # fmt: skip

    async def send(self, role: str, name: str, payload: object) -> dict:
        client = self.fuzzers[role]
        reply = await client.call(name, payload)
        code = "ok" if reply.get("ok") else reply["error"]["code"]
        self.outcomes[code] += 1
        assert reply.get("ok") is True or code in CATALOG, (name, payload, reply)
        assert code != "internal", (role, name, payload, reply)
        for fuzzer in self.fuzzers.values():  # their ids are never drawn: never removed
            assert fuzzer.sio.connected, (role, name, payload, "a socket was disconnected")
        for bystander in list(self.bystanders):
            if not bystander.sio.connected:  # only a removal may close someone else's
                person = await self.node.fair.people.get("demo", bystander.person["id"])
                assert person.removed, (role, name, payload, "a bystander was disconnected")
                self.bystanders.remove(bystander)
        return reply


TOTALS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_totals():
    yield
    if TOTALS:
        from conftest import MEASURED

        line = f"{sum(TOTALS.values())} requests, outcomes {dict(TOTALS.most_common())}"
        MEASURED.append(("tests/protocol/test_fuzz.py", line))


@pytest.fixture
async def arena(node, caplog):
    caplog.set_level(logging.WARNING)
    arena = Arena(node)
    await arena.setup()
    yield arena
    TOTALS.update(arena.outcomes)
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def commands() -> list[str]:
    from rooms.fair import Fair
    from server.engines.memory import MemoryEngine
    from server.outbox import SocketIOOutbox

    return sorted(Fair(MemoryEngine(), SocketIOOutbox(None, None)).commands)  # type: ignore[arg-type]


COMMANDS = commands()


@pytest.mark.parametrize("name", COMMANDS)
@FUZZ
@given(data=st.data())
async def test_well_formed_payloads_never_crash_anything(arena, name, data):
    role = data.draw(st.sampled_from(ROLES), label="role")
    payload_type = arena.node.fair.commands[name].payload
    payload = data.draw(valid_payloads(payload_type, arena.known), label="payload")
    await arena.send(role, name, payload)


@settings(FUZZ, max_examples=1000)
@given(data=st.data())
async def test_almost_valid_and_junk_payloads_are_refused_cleanly(arena, data):
    name = data.draw(st.sampled_from(COMMANDS), label="command")
    role = data.draw(st.sampled_from(ROLES), label="role")
    payload_type = arena.node.fair.commands[name].payload
    payload = data.draw(almost_valid(payload_type, arena.known), label="payload")
    await arena.send(role, name, payload)
