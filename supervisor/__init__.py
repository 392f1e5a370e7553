"""The supervisor face: live hall board, figures, 督查考评 ranking, 好差评 follow-up,
exports, audit search and admin pages, and the /supervisor Socket.IO namespace (see
docs/supervisor.md)."""

from hall.face import Command, Face, PersonalData

from .schema import m020_supervisor_rating_followups
from .settings import SETTINGS

FACE = Face(
    name="supervisor",
    summary="live board, figures, rankings, 好差评 follow-up, exports, admin",
    blueprints=("supervisor.pages:bp", "supervisor.api:bp", "supervisor.planner_views:api"),
    namespaces=("supervisor.namespaces:SupervisorNamespace",),
    settings=SETTINGS,
    migrations=(m020_supervisor_rating_followups,),
    commands=(
        Command(
            "export",
            "write the figures, tickets CSV or XLSX report for a date range",
            "supervisor.cli:configure_export",
            "supervisor.cli:run_export",
        ),
    ),
    demo="supervisor.cli:demo_seed",
    openapi="supervisor.openapi:PART",
    # A call-back note may hold the citizen's phone number.
    personal_data=(
        PersonalData(
            "rating_followups", "note", "at", "hall.privacy:redact_numbers", "回访/整改记录"
        ),
    ),
)
