"""Interfaces one face publishes for others (FaceRegistry.provide / .interface).

A face that needs another face's service asks the core for it by name and gets None
when no installed face provides it; it never imports the other face. Each interface
is written down here, so a provider and its users agree on one shape.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

#: Interface names.
PRINTERS = "printers"


@runtime_checkable
class Printers(Protocol):
    """The hall's ticket printers (provided by the kiosk face): a mapping of print
    service name ("default" for [printer], else a kiosk id) to a printer.PrintService.

    statuses(): one entry per printer, as GET /api/printers answers them:
    {kiosk, name, driver, status, status_name, last_error, checked_at, paper_low}.
    label(name): the printer's name for people (the kiosk's name, 默认打印机)."""

    def __getitem__(self, name: str): ...

    def __iter__(self): ...

    def __contains__(self, name: object) -> bool: ...

    def statuses(self) -> list[dict]: ...

    def label(self, name: str) -> str: ...


PAGE_ADDONS = "page_addons"


@runtime_checkable
class PageAddons(Protocol):
    """What a face adds to another face's page (provided by the citizen face: the
    kiosk's 长者模式 button and ID-card script, the guide desk's 呼叫帮办 alerts).
    Several faces may provide it (MULTI): the page gets every provider's additions,
    in face order (lists joined; data merged, an earlier face's key kept), and a
    provider that fails adds nothing while the others still add theirs.

    for_page(page, **context) -> {"scripts": [url], "styles": [url], "buttons": [
    {"label", "href", "id", "cls", "method": "get" | "post", "fields": {name: value}}],
    "data": {name: value}} for the page named: "kiosk" (context: kiosk, mode, ticket
    token when a ticket is shown) or "guide". The page renders buttons in its own place,
    data as data-* attributes of its body, and loads the scripts after its own.
    "checkin" is the appointments face's 预约签到 screen (context: kiosk, mode "start"
    or "ticket"); "phone" the ticket's phone page (context: status, token)."""

    def for_page(self, page: str, **context) -> dict: ...


#: Interfaces more than one face may provide: hall.faces.interfaces(name) gives every
#: provider in face order; hall.faces.interface(name) the first (None when none).
MULTI = frozenset({PAGE_ADDONS})


BOOKINGS = "bookings"


@runtime_checkable
class Bookings(Protocol):
    """Appointments (provided by the appointments face), as the staffing planner needs
    them.

    booked(day): {(service code, hour of day): bookings not cancelled} for a date.
    capacities(day): {service: {slot "HH:MM": capacity}} set for that date (slots not
    named keep appointments.slot_capacity).
    set_capacities(day, {service: {slot: capacity}}, actor): replace that date's
    capacities of the services named (one transaction, audited); returns capacities(day).
    slot_minutes, default_capacity: the slot length and appointments.slot_capacity."""

    slot_minutes: int
    default_capacity: int

    def booked(self, day) -> dict: ...

    def capacities(self, day) -> dict: ...

    def set_capacities(self, day, capacities: dict, actor) -> dict: ...


#: Check-in of a booking by the booker's ID card, provided by the appointments face.
BOOKING_CHECKIN = "booking_checkin"


@runtime_checkable
class BookingCheckIn(Protocol):
    """A booking found by the keyed hash of its booker's resident ID number
    (hall.idnumber.key_of with the server's secret key; given at booking).

    today(id_key): None, or the person's booking today still open (booked, or missed:
    its window has closed) as {service, service_name, date, slot (HH:MM), status,
    status_text, state: "early" | "due" | "late", checkin_opens, checkin_closes (HH:MM)}.
    check_in(id_key, kiosk=, actor=, within=): when a booking is "due" (its on-time
    check-in window is open), check it in exactly as its code would (a lane-1
    `appointment` ticket, the faces' issue hooks, the booking's phone subscribed to
    即将到号 unless the booker said no) and return the answer (the POST /api/tickets body
    plus `late` and `appointment: {service, date, slot, status}`, no booking code);
    None when nothing is due. within(db, ticket) runs inside the check-in's
    transaction (raising there undoes it). Errors are hall.errors (e.g. the hall closed)."""

    def today(self, id_key: str) -> dict | None: ...

    def check_in(self, id_key: str, *, kiosk=None, actor=None, within=None) -> dict | None: ...


#: The county's catalogue of matters (事项清单), provided by the county face.
MATTERS = "matters"


@runtime_checkable
class Matters(Protocol):
    """Catalogue matters as this hall sees them (docs/county.md). A matter is a dict:
    {code (事项编码), name, department, levels, materials (申请材料, list of texts),
    legal_days, promised_days (法定/承诺时限, working days), fees, version}.

    offered(service): the matters the hall offers under a service code, in its order;
    find(service, value): the offered matter a kiosk's choice names (code or name);
    get(code): one matter or None; of_ticket(ticket_id): the matter handled for a
    ticket (with "case_no", the 办件编号, when the clerk gave one) or None."""

    def offered(self, service: str) -> list[dict]: ...

    def find(self, service: str, value: str | None) -> dict | None: ...

    def get(self, code: str | None) -> dict | None: ...

    def of_ticket(self, ticket_id: int) -> dict | None: ...


#: A site's link to its county centre, provided by the county face.
COUNTY_LINK = "county_link"


@runtime_checkable
class CountyLink(Protocol):
    """status(): None when the hall ships to no centre, else {state (online | offline |
    refused | starting), state_name, since, backlog (records not yet acknowledged),
    last_shipped_at, last_error, retry_in_seconds, site_id, centre_url}. The face
    publishes a `county_link` event when the state, the backlog's emptiness or the
    error changes."""

    def status(self) -> dict | None: ...
