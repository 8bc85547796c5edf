"""The demo mission seeded on start, so a newcomer can try every role at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rooms.fair import Fair
from rooms.models import Booth, Event, Hall, Link, ScheduleItem, Visit
from rooms.people import InviteRequest

EVENT_ID = "demo"

HALLS = [
    Hall(id="demo-hall-a", event_id=EVENT_ID, name="Hall A — Industry & Logistics", position=1),
    Hall(id="demo-hall-b", event_id=EVENT_ID, name="Hall B — Health, Space & ICT", position=2),
]

_BOOTHS = [
    ("demo-b1", "demo-hall-a", "Rhône Freight Logistics", "Logistics", "FR",
     "Multimodal freight between the Rhône valley and the Rhine: rail, river and road."),
    ("demo-b2", "demo-hall-a", "Hafenlogistik Bremen", "Logistics", "DE",
     "Port logistics, customs brokerage and cold chain for food and pharma exports."),
    ("demo-b3", "demo-hall-a", "EcoTherm Solutions", "Eco-technologies", "FR",
     "Industrial heat recovery systems; live site visit of our assembly line."),
    ("demo-b4", "demo-hall-a", "Solarwerk Freiburg", "Eco-technologies", "DE",
     "Building-integrated photovoltaics for factories and warehouses."),
    ("demo-b5", "demo-hall-b", "Nuage Souverain", "ICT", "FR",
     "Sovereign cloud hosting certified for health and public-sector data."),
    ("demo-b6", "demo-hall-b", "DataBridge GmbH", "ICT", "DE",
     "Industrial IoT gateways and data platforms for SMEs."),
    ("demo-b7", "demo-hall-b", "MedAlp Diagnostics", "Health", "CH",
     "Point-of-care diagnostics and telemedicine kits for rural clinics."),
    ("demo-b8", "demo-hall-b", "Orbital Optics", "Space", "BE",
     "Earth-observation optics and ground-station services."),
]  # fmt: skip

BOOTHS = [
    Booth(
        id=bid,
        event_id=EVENT_ID,
        hall_id=hall,
        company=company,
        sector=sector,
        country=country,
        description=description,
        links=[Link(label="Website", url=f"https://example.com/{bid}")],
    )
    for bid, hall, company, sector, country, description in _BOOTHS
]

ROLES = ("participant", "exhibitor", "moderator", "organizer")


def _schedule(today: datetime) -> list[ScheduleItem]:
    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return today + timedelta(days=day, hours=hour, minutes=minute)

    items = [
        ("demo-s1", "webinar", "Exporter en Allemagne : les règles du jeu", "fr", 0, 9, None),
        ("demo-s2", "webinar", "Markteintritt in Frankreich", "de", 0, 11, None),
        ("demo-s3", "site_visit", "Live site visit: EcoTherm assembly line", "en", 0, 14, "demo-b3"),
        ("demo-s4", "b2b", "B2B meetings — slot block 1", "en", 1, 9, None),
        ("demo-s5", "round_table", "Pitch to the ambassadors: space & health", "en", 1, 14, None),
    ]  # fmt: skip
    return [
        ScheduleItem(
            id=sid,
            event_id=EVENT_ID,
            kind=kind,
            title=title,
            language=lang,
            starts_at=at(day, hour),
            ends_at=at(day, hour, 45 if kind != "b2b" else 180),
            booth_id=booth,
        )
        for sid, kind, title, lang, day, hour, booth in items
    ]


async def seed_demo(fair: Fair, secret: bytes) -> dict[str, str]:
    """Create the demo mission unless it exists; return one invite code per role.

    Fixed ids make seeding idempotent, also when several nodes start together.
    """
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    event = Event(
        id=EVENT_ID,
        name="Digital Mission — Green & Digital Industries 2026",
        description="A three-day mission connecting French, German and Swiss companies.",
        starts_at=today,
        ends_at=today + timedelta(days=3),
        sectors=sorted({b.sector for b in BOOTHS}),
    )
    # Every record is put only if absent, by every node: one that loses the race for
    # the event still finds all its booths before it mints the exhibitor's invite, and
    # an organizer's later edits are never overwritten by a restart.
    await fair.catalog.events.put_new(EVENT_ID, event)
    for hall in HALLS:
        await fair.catalog.halls(EVENT_ID).put_new(hall.id, hall)
    for booth in BOOTHS:
        await fair.catalog.booths(EVENT_ID).put_new(booth.id, booth)
    for item in _schedule(today):
        if not await fair.catalog.schedule(EVENT_ID).put_new(item.id, item):
            continue
        if item.kind == "site_visit":  # its exhibitor takes it live from the booth
            visit = Visit(
                id=item.id.replace("-s", "-v", 1),
                event_id=EVENT_ID,
                booth_id=item.booth_id,
                title=item.title,
                starts_at=item.starts_at,
                languages=[item.language],
                session_id=item.id,
            )
            await fair.visits.records(EVENT_ID).put_new(visit.id, visit)
    codes = {}
    for role in ROLES:
        req = InviteRequest(
            role=role, booth_ids=["demo-b3"] if role == "exhibitor" else [], label="demo"
        )
        codes[role] = (await fair.people.ensure_invite(EVENT_ID, req, secret)).code
    return codes
