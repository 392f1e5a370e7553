"""The kiosk face's part of /api/openapi.json (its endpoints are in kiosk/api.py)."""

from __future__ import annotations

from hall.apispec import (
    DATETIME,
    FLAG,
    MANAGERS,
    P_TICKET_ID,
    P_TOKEN,
    STAFF,
    Part,
    array,
    binary,
    body,
    boolean,
    json_response,
    obj,
    op,
    path_param,
    query,
    ref,
    string,
    values,
)

TAGS = ("kiosk",)

SCHEMAS = {
    "Printer": obj(
        {
            "kiosk": string(),
            "name": string(),
            "driver": string(),
            "status": string(),
            "status_name": string(),
            "last_error": string(nullable=True),
            "checked_at": DATETIME,
            "paper_low": boolean(),
        }
    ),
    "PrintAnswer": obj(
        {
            "printed": boolean(),
            "print_error": string(nullable=True),
            "printer": string(nullable=True),
            "print_status": string(),
            "matter": string(),
        },
        description="what the kiosk face adds to the answer of POST /api/tickets",
    ),
    "Reprint": body(
        {
            "kiosk": values(
                "kiosk.openapi:printer_names",
                string(32, description="printer: a kiosk id or 'default'"),
            )
        }
    ),
}


def printer_names(hall) -> list[str]:
    """The print services a reprint may name (kiosk ids, "default")."""
    from .printing import printers_of

    printers = printers_of(hall)
    return list(printers) if printers is not None else []


def _part() -> dict:
    part = Part(SCHEMAS)
    png = binary("image/png", "PNG")
    part.add(
        "/api/printers",
        "get",
        op(
            "Printer status per kiosk",
            json_response(array(ref("Printer"))),
            roles=MANAGERS,
            params=[query("check", FLAG, description="ask every printer first")],
            errors=(400,),
            tags=TAGS,
        ),
    )
    for path, summary in (
        ("/api/tickets/{token}/ticket.png", "The ticket as printed"),
        ("/api/tickets/{token}/qr.png", "QR code of the ticket's phone page"),
    ):
        part.add(path, "get", op(summary, png, params=[P_TOKEN], errors=(404,), tags=TAGS))
    part.add(
        "/api/kiosk/book-qr/{code}.png",
        "get",
        op(
            "QR code of the booking page for a service",
            png,
            params=[path_param("code", string(16))],
            errors=(404,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/tickets/{ticket_id}/reprint",
        "post",
        op(
            "补打: print a ticket again",
            json_response(
                obj(
                    {
                        "printed": boolean(),
                        "error": string(nullable=True),
                        "print_error": string(nullable=True),
                        "printer": string(),
                        "ticket": ref("Ticket"),
                    }
                )
            ),
            roles=STAFF,
            write=True,
            body="Reprint",
            params=[P_TICKET_ID],
            errors=(404, 409),
            tags=TAGS,
        ),
    )
    return part.build()


PART = _part()
