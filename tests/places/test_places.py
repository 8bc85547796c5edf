"""rooms/places.py: where each socket is, its presence, and the chat channels of places."""

from __future__ import annotations

import pytest
from domain import connected, demo_fair, person

from rooms.errors import DomainError
from rooms.protocol import BoothRef, ChatSend, Empty, SessionRef


async def present(fair, scope: str) -> set[str]:
    return {card.id for card in await fair.presence.members(scope)}


async def test_one_booth_per_socket_and_staff_hear_their_knock_queue():
    fair, outbox, _ = await demo_fair()
    staff = await connected(fair, await person(fair, "exhibitor", name="Eva"), "s-staff")
    visitor = await connected(fair, await person(fair, name="Vic"), "s-vic")
    await fair.places.enter_booth(staff, BoothRef(booth_id="demo-b3"))
    assert "staff:demo-b3" in outbox.rooms["s-staff"]
    view = await fair.places.enter_booth(visitor, BoothRef(booth_id="demo-b3"))
    assert {c.name for c in view.present} == {"Eva", "Vic"}
    assert "staff:demo-b3" not in outbox.rooms["s-vic"]
    await fair.places.enter_booth(visitor, BoothRef(booth_id="demo-b1"))  # moving leaves
    assert await present(fair, "booth:demo-b3") == {staff.person.id}
    assert fair.places.booth_of(visitor) == "demo-b1"
    await fair.places.leave_booth(staff, Empty())
    assert "staff:demo-b3" not in outbox.rooms["s-staff"]
    assert fair.places.booth_of(staff) is None
    with pytest.raises(DomainError) as refused:
        await fair.places.enter_booth(visitor, BoothRef(booth_id="demo-b99"))
    assert refused.value.code == "booth_not_found"


async def test_sessions_and_disconnects_update_presence():
    fair, _, _ = await demo_fair()
    ana = await connected(fair, await person(fair, name="Ana"), "s-ana")
    view = await fair.places.enter_session(ana, SessionRef(session_id="demo-s1"))
    assert [c.name for c in view.present] == ["Ana"]
    await fair.places.enter_booth(ana, BoothRef(booth_id="demo-b2"))
    assert fair.places.session_of(ana) == "demo-s1"
    await fair.disconnect(ana)
    assert await present(fair, "session:demo-s1") == set()
    assert await present(fair, "booth:demo-b2") == set()
    assert await present(fair, "event:demo") == set()
    assert fair.places.booth_of(ana) is None  # its state is forgotten


async def test_a_booth_chat_is_for_the_people_inside():
    fair, outbox, _ = await demo_fair()
    ana = await connected(fair, await person(fair, name="Ana"), "s-ana")
    with pytest.raises(DomainError) as refused:
        await fair.chat.send(ana, ChatSend(channel="booth:demo-b1", text="hi"))
    assert refused.value.code == "not_in_booth"
    await fair.places.enter_booth(ana, BoothRef(booth_id="demo-b1"))
    message = await fair.chat.send(ana, ChatSend(channel="booth:demo-b1", text="hi"))
    assert outbox.sent("chat:message")[-1][0] == "booth:demo-b1"
    assert message.channel == "booth:demo-b1"
    with pytest.raises(DomainError) as refused:
        await fair.chat.send(ana, ChatSend(channel="session:demo-s1", text="hi"))
    assert refused.value.code == "not_in_session"


async def test_a_connect_refused_half_way_leaves_no_ghost():
    fair, _, _ = await demo_fair()

    class Failing(type(fair.places)):
        async def on_connect(self, actor):
            raise RuntimeError("this area cannot take the socket")

    fair.places.__class__ = Failing
    ana = await person(fair, name="Ana")
    with pytest.raises(RuntimeError):
        await connected(fair, ana, "s-ana")
    assert await present(fair, "event:demo") == set()  # the lobby forgot it again
