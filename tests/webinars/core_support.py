"""Shared steps of the webinar core's tests: an organizer, a moderator of demo-s1, a
webinar taken live."""

from __future__ import annotations

from harness import Client, Node

WEBINAR, OTHER_WEBINAR = "demo-s1", "demo-s2"  # the demo's two webinars


async def moderator_of(node: Node, organizer: Client, session_id: str = WEBINAR) -> Client:
    """A participant the organizer lists among the webinar's moderators."""
    mod = await node.client(name="Session Moderator")
    await organizer.ok(
        "webinar:assign",
        {"session_id": session_id, "person_id": mod.person["id"], "role": "moderator"},
    )
    return mod


async def go_live(moderator: Client, session_id: str = WEBINAR) -> dict:
    await moderator.ok("webinar:set_state", {"session_id": session_id, "state": "backstage"})
    return await moderator.ok("webinar:set_state", {"session_id": session_id, "state": "live"})


async def joined(client: Client, session_id: str = WEBINAR) -> dict:
    return await client.ok("webinar:join", {"session_id": session_id})
