"""HTTP API: health, metrics, joining by invite, reads, and the organizer API."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from rooms import errors
from rooms.edits import (
    BoothChange,
    BoothNew,
    EventChange,
    EventNew,
    HallChange,
    HallNew,
    ScheduleItemChange,
    ScheduleItemNew,
    given,
)  # fmt: skip
from rooms.engine import EngineUnavailable
from rooms.errors import DomainError, ErrorCode
from rooms.fair import Fair
from rooms.models import Person
from rooms.people import InviteRequest, Registration
from rooms.protocol import DirectoryQuery
from server.auth import Tokens
from server.client_address import ClientAddresses
from server.http_types import (
    Done,
    ErrorBody,
    ErrorReply,
    EventCreated,
    Health,
    InviteInfo,
    Joined,
    Ready,
    invite_view,
)  # fmt: skip
from server.metrics import METRICS, Metrics

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()
T = TypeVar("T")
HTTP_ERRORS = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED, 413: errors.PAYLOAD_TOO_LARGE}


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json")


def json_error(code: ErrorCode, message: str, status: int | None = None) -> web.Response:
    body = ErrorReply(error=ErrorBody(code=code.code, message=message))
    return json_response(body, status or code.status or 400)


async def read_body(request: web.Request, kind: type[T]) -> T:
    """The JSON body as ``kind``: 415 unless sent as application/json, 400 when it does
    not fit (types, unknown fields, nesting)."""
    if request.content_type != "application/json":
        raise errors.UNSUPPORTED_MEDIA_TYPE("send the body as Content-Type: application/json")
    raw = await request.read()
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise errors.INVALID_PAYLOAD(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise errors.INVALID_JSON(f"the body must be valid JSON: {exc}") from None
    except RecursionError:
        raise errors.NESTING_TOO_DEEP("the JSON body is nested too deeply") from None


def decode(data: Any, kind: type[T]) -> T:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise errors.INVALID_PAYLOAD(str(exc)) from None


@web.middleware
async def errors_as_json(request: web.Request, handler):
    metrics: Metrics = request.app[METRICS]
    try:
        response = await handler(request)
    except DomainError as exc:
        response = json_error(exc.error, exc.message)
    except EngineUnavailable as exc:
        log.warning("%s %s: %s", request.method, request.path, exc)
        response = json_error(errors.UNAVAILABLE, "the server cannot serve this right now; retry")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_ERRORS.get(exc.status, errors.HTTP_ERROR)
        response = json_error(code, exc.reason, exc.status)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        response = json_error(errors.INTERNAL, "the server could not complete this request")
    metrics.http.labels(str(response.status)).inc()
    return response


class HttpApi:
    def __init__(
        self,
        fair: Fair,
        tokens: Tokens,
        admin_key: str,
        base_url: str,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.fair = fair
        self.tokens = tokens
        self.admin_key = admin_key
        self.base_url = base_url
        self.addresses = ClientAddresses(trusted_proxies)

    def routes(self) -> list[web.RouteDef]:
        ev = "/api/events/{event_id}"
        return [
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics),
            web.get("/api/errors/{lang}", self.error_texts),
            web.get("/api/invites/{code}", self.invite_info),
            web.post("/api/join", self.join),
            web.get("/api/me", self.me),
            web.post("/api/events", self.create_event),
            web.get(ev, self.get_event),
            web.patch(ev, self.update_event),
            web.get(ev + "/halls", self.list_halls),
            web.post(ev + "/halls", self.create_hall),
            web.patch(ev + "/halls/{hall_id}", self.update_hall),
            web.delete(ev + "/halls/{hall_id}", self.delete_hall),
            web.get(ev + "/booths", self.list_booths),
            web.post(ev + "/booths", self.create_booth),
            web.get(ev + "/booths/{booth_id}", self.get_booth),
            web.patch(ev + "/booths/{booth_id}", self.update_booth),
            web.delete(ev + "/booths/{booth_id}", self.delete_booth),
            web.get(ev + "/schedule", self.list_schedule),
            web.post(ev + "/schedule", self.create_schedule_item),
            web.patch(ev + "/schedule/{item_id}", self.update_schedule_item),
            web.delete(ev + "/schedule/{item_id}", self.delete_schedule_item),
            web.get(ev + "/invites", self.list_invites),
            web.post(ev + "/invites", self.create_invite),
            web.delete(ev + "/invites/{code}", self.revoke_invite),
            web.get(ev + "/people", self.list_people),
        ]

    # auth helpers ------------------------------------------------------------
    async def person(self, request: web.Request) -> Person:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise errors.AUTH_REQUIRED("send Authorization: Bearer <session token>")
        claims = self.tokens.verify(token.strip())
        try:
            person = await self.fair.people.get(claims.event_id, claims.person_id)
        except DomainError:
            raise errors.AUTH_INVALID("the session token is not valid") from None
        if person.removed:
            raise errors.REMOVED("you have been removed from this event")
        return person

    async def member(self, request: web.Request) -> Person:
        """A person of the event named in the path."""
        person = await self.person(request)
        if person.event_id != request.match_info["event_id"]:
            raise errors.WRONG_EVENT("your session belongs to another event")
        return person

    def require_admin(self, request: web.Request) -> None:
        given = request.headers.get("X-Admin-Key", "")
        if not given or not hmac.compare_digest(given.encode(), self.admin_key.encode()):
            raise errors.ADMIN_REQUIRED("send a valid X-Admin-Key header")

    def invite_url(self, code: str) -> str:
        return f"{self.base_url}/join/{code}"

    # health ----------------------------------------------------------------------
    async def healthz(self, request: web.Request) -> web.Response:
        return json_response(Health(ok=True))

    async def readyz(self, request: web.Request) -> web.Response:
        try:
            await self.fair.engine.ping()
        except Exception:
            log.warning("readiness check: engine not reachable", exc_info=True)
            return json_error(errors.ENGINE_UNAVAILABLE, "the engine is not reachable")
        return json_response(Ready(ok=True, node=self.fair.engine.node_id))

    async def metrics(self, request: web.Request) -> web.Response:
        body = request.app[METRICS].render()
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    async def error_texts(self, request: web.Request) -> web.Response:
        """What people read for each error code, in one language (the client's)."""
        lang = request.match_info["lang"]
        if lang not in errors.LANGUAGES:
            raise errors.NOT_FOUND(f"no texts in {lang[:8]!r}; there are {errors.LANGUAGES}")
        response = json_response(errors.texts(lang))
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    # joining ----------------------------------------------------------------------
    async def invite_info(self, request: web.Request) -> web.Response:
        invite = await self.fair.people.usable_invite(request.match_info["code"][:64])
        event = await self.fair.catalog.event(invite.event_id)
        booths = [await self.fair.catalog.booth(event.id, b) for b in invite.booth_ids]
        return json_response(InviteInfo.of(event, invite, booths))

    async def join(self, request: web.Request) -> web.Response:
        address = self.addresses.of(request.remote, request.headers.get("X-Forwarded-For"))
        form = await read_body(request, Registration)
        person = await self.fair.people.register(form, address)
        token = self.tokens.mint(person.event_id, person.id)
        return json_response(Joined(token=token, person=person), status=201)

    async def me(self, request: web.Request) -> web.Response:
        return json_response(await self.person(request))

    # reads --------------------------------------------------------------------------
    async def get_event(self, request: web.Request) -> web.Response:
        await self.member(request)
        return json_response(await self.fair.catalog.event(request.match_info["event_id"]))

    async def list_halls(self, request: web.Request) -> web.Response:
        await self.member(request)
        return json_response(await self.fair.catalog.list_halls(request.match_info["event_id"]))

    async def list_booths(self, request: web.Request) -> web.Response:
        await self.member(request)
        q = decode(dict(request.query), DirectoryQuery)
        booths = await self.fair.catalog.list_booths(
            request.match_info["event_id"], q.q, q.sector, q.country, q.hall_id
        )
        return json_response(booths)

    async def get_booth(self, request: web.Request) -> web.Response:
        await self.member(request)
        m = request.match_info
        return json_response(await self.fair.catalog.booth(m["event_id"], m["booth_id"]))

    async def list_schedule(self, request: web.Request) -> web.Response:
        await self.member(request)
        return json_response(await self.fair.catalog.list_schedule(request.match_info["event_id"]))

    # organizer API --------------------------------------------------------------------
    async def create_event(self, request: web.Request) -> web.Response:
        """Bootstrap: the admin key creates an event and gets its first organizer invite."""
        self.require_admin(request)
        body = await read_body(request, EventNew)
        event = await self.fair.catalog.create_event(given(body))
        invite = await self.fair.people.mint_invite(
            None, event.id, InviteRequest(role="organizer", max_uses=1, label="first organizer")
        )
        created = EventCreated(
            event=event, organizer_invite=self.invite_url(invite.code), code=invite.code
        )
        return json_response(created, status=201)

    async def update_event(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        body = given(await read_body(request, EventChange))
        return json_response(await self.fair.catalog.update_event(actor, actor.event_id, body))

    async def create_hall(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        body = given(await read_body(request, HallNew))
        hall = await self.fair.catalog.create_hall(actor, actor.event_id, body)
        return json_response(hall, status=201)

    async def update_hall(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        hall_id, body = request.match_info["hall_id"], given(await read_body(request, HallChange))
        return json_response(
            await self.fair.catalog.update_hall(actor, actor.event_id, hall_id, body)
        )

    async def delete_hall(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        await self.fair.catalog.delete_hall(actor, actor.event_id, request.match_info["hall_id"])
        return json_response(Done(ok=True))

    async def create_booth(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        body = given(await read_body(request, BoothNew))
        booth = await self.fair.catalog.create_booth(actor, actor.event_id, body)
        return json_response(booth, status=201)

    async def update_booth(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        booth_id = request.match_info["booth_id"]
        body = given(await read_body(request, BoothChange))
        booth = await self.fair.catalog.update_booth(actor, actor.event_id, booth_id, body)
        return json_response(booth)

    async def delete_booth(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        await self.fair.catalog.delete_booth(actor, actor.event_id, request.match_info["booth_id"])
        return json_response(Done(ok=True))

    async def create_schedule_item(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        body = given(await read_body(request, ScheduleItemNew))
        item = await self.fair.catalog.create_schedule_item(actor, actor.event_id, body)
        return json_response(item, status=201)

    async def update_schedule_item(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        item_id = request.match_info["item_id"]
        body = given(await read_body(request, ScheduleItemChange))
        item = await self.fair.catalog.update_schedule_item(actor, actor.event_id, item_id, body)
        return json_response(item)

    async def delete_schedule_item(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        item_id = request.match_info["item_id"]
        await self.fair.catalog.delete_schedule_item(actor, actor.event_id, item_id)
        return json_response(Done(ok=True))

    async def list_invites(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        invites = await self.fair.people.list_invites(actor, actor.event_id)
        return json_response([invite_view(i, self.invite_url(i.code)) for i in invites])

    async def create_invite(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        req = await read_body(request, InviteRequest)
        invite = await self.fair.people.mint_invite(actor, actor.event_id, req)
        return json_response(invite_view(invite, self.invite_url(invite.code)), status=201)

    async def revoke_invite(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        await self.fair.people.revoke_invite(actor, request.match_info["code"])
        return json_response(Done(ok=True))

    async def list_people(self, request: web.Request) -> web.Response:
        actor = await self.member(request)
        return json_response(await self.fair.people.list_for(actor))
