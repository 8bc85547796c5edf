"""Every name of a Socket.IO room, presence scope, chat channel, history stream and
pub/sub channel is built and parsed here, and nowhere else.

Socket.IO rooms and presence scopes share their names, so the people present in a
place are exactly the sockets that hear about it:

    event:<event id>     everyone signed in to the event (the lobby)
    user:<person id>     every socket of one person (all tabs, all nodes); as a
                         presence scope its members are those sockets (rooms/people.py)
    booth:<booth id>     people inside a booth
    staff:<booth id>     that booth's staff while inside it (its knock queue)
    session:<item id>    people in a programme session (a webinar's whole audience)
    session-mods:<id>    a webinar's moderators in it; session-backstage:<id> its
                         moderators, speakers and interpreters in it
    attend:<event id>:<session id>   a webinar's attendance (member = person; silent)
    visit:<visit id>     people following a site visit
    call:<call id>       presence of a video call's sockets (member = sid)
    knock:<call id>      sockets knocking at a booth's call
    visit-hub:<node id>:<visit id>   a visit's media hub on that node (member = the
                         event id); reaped with the node, so the visit is interrupted

Chat channels (the wire names clients use): ``lobby``, ``booth:<id>``,
``session:<id>``, ``visit:<id>``, ``dm:<a>:<b>`` (ids sorted). A booth's video call
has the id ``booth:<booth id>``.
"""

from __future__ import annotations

# -- Socket.IO rooms and presence scopes ------------------------------------------------------


def event_room(event_id: str) -> str:
    return f"event:{event_id}"


def user_room(person_id: str) -> str:
    return f"user:{person_id}"


def booth_room(booth_id: str) -> str:
    return f"booth:{booth_id}"


def staff_room(booth_id: str) -> str:
    return f"staff:{booth_id}"


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


def session_moderators_room(session_id: str) -> str:
    """A webinar's moderators (organizers included) while in it: hands, Q&A queue,
    poll results before they are shown."""
    return f"session-mods:{session_id}"


def session_backstage_room(session_id: str) -> str:
    """A webinar's moderators, speakers and interpreters while in it."""
    return f"session-backstage:{session_id}"


def attendance_scope(event_id: str, session_id: str) -> str:
    """A webinar's audience for its attendance record (member = person, one session
    per socket): a person's first socket in marks a join, their last one out a leave,
    on any node (rooms/webinars/attendance.py). Nobody hears about its members."""
    return f"attend:{event_id}:{session_id}"


def attendance_of(scope: str) -> tuple[str, str]:
    """``attend:<event>:<session>`` -> (event id, session id)."""
    event_id, _, session_id = split(scope)[1].partition(":")
    return event_id, session_id


def visit_room(visit_id: str) -> str:
    return f"visit:{visit_id}"


def call_scope(call_id: str) -> str:
    return f"call:{call_id}"


def knock_scope(call_id: str) -> str:
    return f"knock:{call_id}"


VISIT_HUB = "visit-hub"


def visit_hub_scope(node_id: str, visit_id: str) -> str:
    return f"{VISIT_HUB}:{node_id}:{visit_id}"


def visit_hub_of(scope: str) -> tuple[str, str]:
    """``visit-hub:<node>:<visit>`` -> (node id, visit id)."""
    node_id, _, visit_id = split(scope)[1].partition(":")
    return node_id, visit_id


STAGE_HUB = "stage-hub"  # a webinar stage's hub (rooms/media/stage.py)


def stage_hub_scope(node_id: str, session_id: str) -> str:
    return f"{STAGE_HUB}:{node_id}:{session_id}"


def stage_hub_of(scope: str) -> tuple[str, str]:
    """``stage-hub:<node>:<session>`` -> (node id, session id)."""
    node_id, _, session_id = split(scope)[1].partition(":")
    return node_id, session_id


def split(name: str) -> tuple[str, str]:
    """``"kind:rest"`` -> (kind, rest); rest is "" for a name without a colon."""
    kind, _, rest = name.partition(":")
    return kind, rest


# -- video calls ------------------------------------------------------------------------------
BOOTH_CALL_PREFIX = "booth:"


def booth_call_id(booth_id: str) -> str:
    return BOOTH_CALL_PREFIX + booth_id


def booth_of_call(call_id: str) -> str | None:
    """The booth whose call this is, or None for meetings and group rooms."""
    return (
        call_id.removeprefix(BOOTH_CALL_PREFIX) if call_id.startswith(BOOTH_CALL_PREFIX) else None
    )


# -- chat channels and their history streams ----------------------------------------------------
LOBBY = "lobby"
ANNOUNCEMENTS = "announcements"


def dm_channel(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"dm:{first}:{second}"


def history_stream(event_id: str, channel: str) -> str:
    """The engine history that keeps a channel's messages."""
    return f"chat:{event_id}:{channel}"


# -- pub/sub between nodes ----------------------------------------------------------------------
CONTROL = "control"  # cluster-wide orders such as "close this person's sockets"
FANOUT = "fanout"  # every node's Socket.IO emits, for the other nodes (server/fanout/cluster.py)
SOCKET_ORDERS = "sockets"  # "close these sockets" (a person's oldest, past the cap)
WEBINAR_ROLES = "webinar-roles"  # a person's part in a webinar changed: re-join its rooms


def media_requests(node_id: str) -> str:
    return f"media:{node_id}"


def media_replies(node_id: str) -> str:
    return f"media-reply:{node_id}"


# -- per-person budgets -------------------------------------------------------------------------


def rate_counter(rate_class: str, person_id: str) -> str:
    return f"rl:{rate_class}:{person_id}"
