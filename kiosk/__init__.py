"""The kiosk face: take a number at the touchscreen, print the ticket, follow it on a phone.

    /kiosk, /kiosk/<id>            the kiosk (pages.py); <id> from [[kiosks]]
    /t/<token>                     the ticket's progress page on a phone (phone.py)
    /api/printers, /api/tickets/<token>/ticket.png | qr.png,
    /api/tickets/<id>/reprint      the kiosk API (api.py)
    Socket.IO /kiosk, /ticket      waiting counts; a phone following its ticket

It provides the "printers" interface (one printer.PrintService per kiosk plus "default"
for [printer]), prints every new ticket from its issue hook (printing.py) and watches
the printers' status. See docs/kiosk.md.
"""

from hall.face import Command, Face, IssueOption

from .settings import SETTINGS, check_config

FACE = Face(
    name="kiosk",
    summary="touch kiosks, ticket printers, the phone page",
    blueprints=("kiosk.pages:bp", "kiosk.phone:bp", "kiosk.api:bp"),
    namespaces=("kiosk.namespaces:KioskNamespace", "kiosk.namespaces:TicketNamespace"),
    settings=SETTINGS,
    check_config=check_config,
    provides={"printers": "kiosk.printing:make_printers"},
    issue_options=(
        IssueOption("print", bool, help="true: print on the [printer] default; false: never"),
        IssueOption("matter", str, max_len=50, help="a sub-matter of the service, printed"),
    ),
    issue_hooks=("kiosk.printing:issue_hook",),
    setup="kiosk.printing:setup",
    commands=(
        Command(
            "print-test",
            "print a sample ticket on a configured printer",
            "printer.cli:configure",
            "printer.cli:run",
        ),
    ),
    openapi="kiosk.openapi:PART",
)
