"""Every role against every declared command, on a live node, checked against what the
declarations promise (rooms/permissions.py; the same matrix is generated into the
docs):

- the role grants the command's permission: never ``forbidden``;
- only a scope can give it (staff of this booth, host of this call, author of this
  message): ``forbidden`` on someone else's resource, allowed on the role's own;
- neither: ``forbidden`` by the gateway, before any handler runs.

A command added without a payload here fails the test, so the matrix keeps up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from harness import Client, Node

from rooms.permissions import Scope, granted, scopes_for

STARTS = "2026-11-23T14:00:00+00:00"
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
OWN_BOOTH, OTHER_BOOTH = "demo-b3", "demo-b1"  # the demo exhibitor invite staffs demo-b3
WEBINAR = "demo-s1"  # the demo's first webinar
OTHER_WEBINAR = "demo-s2"  # one the actor never moderates
NEVER_FINE = {"forbidden", "internal", "unknown_event", "invalid_payload"}


class World:
    """Fresh resources for one actor: its own (in scope) or someone else's."""

    def __init__(self, node: Node, actor: Client, other: Client, organizer: Client) -> None:
        self.node, self.actor, self.other, self.organizer = node, actor, other, organizer

    async def target(self) -> str:
        """A fresh participant to moderate."""
        return (await self.node.register("participant"))["person"]["id"]

    async def meeting(self, own: bool) -> dict:
        """A meeting the actor created (it hosts it), or a booth call it does not host."""
        if not own:
            return {"call_id": "booth:" + OTHER_BOOTH, "person_id": self.other.person["id"]}
        invitee = self.other.person["id"]
        call = await self.actor.ok("call:create", {"kind": "meeting", "invitees": [invitee]})
        return {"call_id": call["id"], "person_id": invitee}

    async def message(self, own: bool) -> dict:
        author = self.actor if own else self.other
        sent = await author.ok("chat:send", {"channel": "lobby", "text": "matrix"})
        return {"channel": "lobby", "id": sent["id"]}

    async def visit(self, own: bool) -> str:
        booth = OWN_BOOTH if own else OTHER_BOOTH
        made = {"booth_id": booth, "title": "Tour", "starts_at": STARTS}
        return (await self.organizer.ok("visit:create", made))["id"]

    async def session(self) -> str:
        return (await self.actor.ok("lobby:state"))["schedule"][0]["id"]

    async def webinar(self, own: bool) -> str:
        """A webinar the actor moderates (the organizer lists them), or one they don't."""
        if not own:
            return OTHER_WEBINAR
        who = {"person_id": self.actor.person["id"], "role": "moderator"}
        await self.organizer.ok("webinar:assign", {"session_id": WEBINAR, **who})
        return WEBINAR


Payload = Callable[[World, bool], Awaitable[dict]]


async def _visit_ref(w: World, own: bool) -> dict:
    return {"visit_id": await w.visit(own)}


async def _call(w: World, own: bool) -> dict:
    return {"call_id": (await w.meeting(own))["call_id"]}


PAYLOADS: dict[str, Payload] = {
    "lobby:state": lambda w, own: _const({}),
    "lobby:online": lambda w, own: _const({}),
    "lobby:directory": lambda w, own: _const({"sector": "ICT"}),
    "lobby:announce": lambda w, own: _const({"text": "matrix"}),
    "people:get": lambda w, own: _const({"person_id": w.other.person["id"]}),
    "booth:get": lambda w, own: _const({"booth_id": OTHER_BOOTH}),
    "booth:enter": lambda w, own: _const({"booth_id": OTHER_BOOTH}),
    "booth:leave": lambda w, own: _const({}),
    "booth:update": lambda w, own: _const(
        {"booth_id": OWN_BOOTH if own else OTHER_BOOTH, "description": "matrix"}
    ),
    "session:enter": lambda w, own: _session(w),
    "session:leave": lambda w, own: _const({}),
    "chat:send": lambda w, own: _const({"channel": "lobby", "text": "matrix"}),
    "chat:history": lambda w, own: _const({"channel": "lobby"}),
    "chat:delete": lambda w, own: w.message(own),
    "mod:mute": lambda w, own: _target(w, minutes=1),
    "mod:unmute": lambda w, own: _target(w),
    "mod:remove": lambda w, own: _target(w),
    "mod:reinstate": lambda w, own: _target(w),
    "call:create": lambda w, own: _const({"kind": "meeting", "invitees": [w.other.person["id"]]}),
    "call:list": lambda w, own: _const({}),
    "call:get": lambda w, own: _const({"call_id": "booth:" + OTHER_BOOTH}),
    "call:knock": lambda w, own: _const({"call_id": "booth:" + OTHER_BOOTH}),
    "call:withdraw": lambda w, own: _const({"call_id": "booth:" + OTHER_BOOTH}),
    "call:join": lambda w, own: _const({"call_id": "booth:" + OTHER_BOOTH}),
    "call:leave": lambda w, own: _const({"call_id": "booth:" + OTHER_BOOTH}),
    "call:signal": lambda w, own: _const(
        {"call_id": "booth:" + OTHER_BOOTH, "to": "nobody", "description": OFFER}
    ),
    "call:ice": lambda w, own: _const({}),
    "call:admit": lambda w, own: w.meeting(own),
    "call:decline": lambda w, own: w.meeting(own),
    "call:mute": lambda w, own: w.meeting(own),
    "call:remove": lambda w, own: w.meeting(own),
    "call:end": _call,
    "visit:create": lambda w, own: _const(
        {"booth_id": OWN_BOOTH if own else OTHER_BOOTH, "title": "Tour", "starts_at": STARTS}
    ),
    "visit:list": lambda w, own: _const({}),
    "visit:get": _visit_ref,
    "visit:join": _visit_ref,
    "visit:leave": _visit_ref,
    "visit:watch": lambda w, own: _offer(w, own),
    "visit:unwatch": _visit_ref,
    "visit:ask": lambda w, own: _ask(w, own),
    "visit:update": lambda w, own: _chapter(w, own),
    "visit:start": _visit_ref,
    "visit:end": _visit_ref,
    "visit:publish": lambda w, own: _offer(w, own),
    "visit:answered": lambda w, own: _answered(w, own),
    "webinar:get": lambda w, own: _const({"session_id": WEBINAR}),
    "webinar:join": lambda w, own: _const({"session_id": WEBINAR}),
    "webinar:leave": lambda w, own: _const({}),
    # the webinar core (rooms/webinars/: sessions, roles, speakers, hands, registration)
    "webinar:assign": lambda w, own: _moderated(w, own, role="interpreter", language="fr"),
    "webinar:unassign": lambda w, own: _moderated(w, own, role="interpreter"),
    "webinar:set_state": lambda w, own: _moderated(w, own, state="backstage"),
    "webinar:configure": lambda w, own: _moderated(w, own, qa_premoderated=True),
    "webinar:set_timer": lambda w, own: _moderated(w, own, minutes=5),
    "webinar:people": lambda w, own: _moderated(w, own),
    "webinar:invite_speaker": lambda w, own: _moderated(w, own, person=True),
    "webinar:answer": lambda w, own: _const({"session_id": WEBINAR, "accept": True}),
    "webinar:stage": lambda w, own: _moderated(w, own, person=True, on_stage=False),
    "webinar:mute": lambda w, own: _moderated(w, own, person=True, muted=True),
    "webinar:remove_speaker": lambda w, own: _moderated(w, own, person=True),
    "webinar:raise_hand": lambda w, own: _const({"session_id": WEBINAR}),
    "webinar:lower_hand": lambda w, own: _const({"session_id": WEBINAR}),
    "webinar:hands": lambda w, own: _moderated(w, own),
    "webinar:invite_hand": lambda w, own: _moderated(w, own, person=True),
    "webinar:register": lambda w, own: _const({"session_id": WEBINAR}),
    "webinar:unregister": lambda w, own: _const({"session_id": WEBINAR}),
    "webinar:registrations": lambda w, own: _moderated(w, own),
    "webinar:agenda": lambda w, own: _const({}),
    # questions, polls and reactions (rooms/webinars/qa.py, polls.py, reactions.py)
    "qa:ask": lambda w, own: _const({"session_id": WEBINAR, "text": "Matrix?"}),
    "qa:upvote": lambda w, own: _const({"session_id": WEBINAR, "question_id": "q-none"}),
    "qa:list": lambda w, own: _const({"session_id": WEBINAR}),
    "qa:approve": lambda w, own: _question(w, own),
    "qa:hide": lambda w, own: _question(w, own),
    "qa:answer": lambda w, own: _question(w, own),
    "qa:pin": lambda w, own: _question(w, own),
    "poll:create": lambda w, own: _poll_draft(w, own),
    "poll:update": lambda w, own: _poll(w, own, question="Changed?"),
    "poll:delete": lambda w, own: _poll(w, own),
    "poll:open": lambda w, own: _poll(w, own),
    "poll:close": lambda w, own: _poll(w, own),
    "poll:show_results": lambda w, own: _poll(w, own, shown=True),
    "poll:vote": lambda w, own: _const({"session_id": WEBINAR, "poll_id": "p-x", "options": [0]}),
    "poll:list": lambda w, own: _const({"session_id": WEBINAR}),
    "reaction:send": lambda w, own: _const({"session_id": WEBINAR, "kind": "applause"}),
    "webinar:publish": lambda w, own: _stage_offer(w, own),
    "webinar:unpublish": lambda w, own: _stage_ref(w, own),
    "webinar:watch": lambda w, own: _const({"session_id": WEBINAR, "description": OFFER}),
    "webinar:unwatch": lambda w, own: _const({"session_id": WEBINAR}),
}


async def _moderated_webinar(w: World, own: bool) -> str:
    return await w.webinar(own)


async def _question(w: World, own: bool) -> dict:
    return {"session_id": await _moderated_webinar(w, own), "question_id": "q-none"}


async def _poll_draft(w: World, own: bool) -> dict:
    session_id = await _moderated_webinar(w, own)
    return {"session_id": session_id, "question": "Matrix?", "options": ["A", "B"]}


async def _poll(w: World, own: bool, **extra) -> dict:
    draft = await w.organizer.ok("poll:create", await _poll_draft(w, True))
    return {"session_id": await _moderated_webinar(w, own), "poll_id": draft["id"], **extra}


async def _const(payload: dict) -> dict:
    return payload


async def _session(w: World) -> dict:
    return {"session_id": await w.session()}


async def _moderated(w: World, own: bool, person: bool = False, **extra) -> dict:
    """A webinar command on the actor's own webinar, or on one they don't moderate;
    ``person``: about someone else (the other person)."""
    about = {"person_id": w.other.person["id"]} if person or "role" in extra else {}
    return {"session_id": await w.webinar(own), **about, **extra}


async def _target(w: World, **extra) -> dict:
    return {"person_id": await w.target(), **extra}


async def _offer(w: World, own: bool) -> dict:
    return {"visit_id": await w.visit(own), "description": OFFER}


async def _ask(w: World, own: bool) -> dict:
    return {"visit_id": await w.visit(own), "text": "How many robots?"}


async def _chapter(w: World, own: bool) -> dict:
    return {"visit_id": await w.visit(own), "chapter": "Paint shop"}


async def _answered(w: World, own: bool) -> dict:
    return {"visit_id": await w.visit(own), "question_id": "q-none"}


async def _stage_offer(w: World, own: bool) -> dict:
    """Own: a webinar the actor moderates, joined; else one they play no part in."""
    session = await w.webinar(own)
    if own:
        await w.actor.ok("webinar:join", {"session_id": session})
    return {"session_id": session, "description": OFFER}


async def _stage_ref(w: World, own: bool) -> dict:
    return {"session_id": (await _stage_offer(w, own))["session_id"]}


def expected(role: str, command) -> str:
    if granted(role, command.permission):
        return "yes"
    scopes: tuple[Scope, ...] = scopes_for(role, command.permission)
    return "scoped" if scopes else "no"


def test_every_declared_command_has_a_payload(node):
    assert set(PAYLOADS) == set(node.fair.commands), (
        "add the new command to PAYLOADS in tests/protocol/test_permission_matrix.py"
    )


@pytest.mark.parametrize("role", ["participant", "exhibitor", "moderator", "organizer"])
async def test_each_role_gets_what_the_declarations_promise(node, role):
    actor = await node.client(role, name=f"Matrix {role}")
    world = World(
        node, actor, await node.client(name="Other Person"), await node.client("organizer")
    )
    outcomes: dict[str, str] = {}
    problems = []
    for name, command in sorted(node.fair.commands.items()):
        promise = outcomes[name] = expected(role, command)
        own = await actor.call(name, await PAYLOADS[name](world, True))
        code = None if own["ok"] else own["error"]["code"]
        if promise == "no":
            if code != "forbidden" or "needs the permission" not in own["error"]["message"]:
                problems.append((name, "the gateway should refuse it", own))
            continue
        if code in NEVER_FINE:
            problems.append((name, f"{promise}: refused on its own resource", own))
        if promise == "scoped":
            theirs = await actor.call(name, await PAYLOADS[name](world, False))
            if theirs["ok"] or theirs["error"]["code"] != "forbidden":
                problems.append((name, "allowed on someone else's resource", theirs))
    assert not problems, problems
    # the matrix is not trivial: every role is refused something and allowed most
    assert "yes" in outcomes.values()
    if role != "organizer":
        assert "no" in outcomes.values() or "scoped" in outcomes.values()
