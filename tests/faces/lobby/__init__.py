"""A small, complete face used by tests/test_architecture.py and docs/architecture.md:
a lobby board for a side entrance. It declares every kind of part the contract has."""

from hall.face import Command, Face, IssueOption
from hall.settings import Setting


def m900_lobby(db):
    db["lobby_counts"].create({"day": str, "issued": int}, pk="day")


FACE = Face(
    name="lobby",
    summary="a lobby board (test face)",
    blueprints=("tests.faces.lobby.views:bp",),
    namespaces=("tests.faces.lobby.views:LobbyNamespace",),
    settings=(Setting("lobby", "title", "大厅入口", "Title of the lobby board."),),
    migrations=(m900_lobby,),
    commands=(
        Command(
            "lobby-count",
            "print the lobby's count of tickets issued today",
            "tests.faces.lobby.views:configure",
            "tests.faces.lobby.views:run",
        ),
    ),
    issue_options=(IssueOption("lobby_note", str, max_len=20, help="a note for the lobby"),),
    issue_hooks=("tests.faces.lobby.views:count_hook",),
    routes=("tests.faces.lobby.views:routes",),
    # the kiosk gets a 东门导览 button, beside what the citizen face adds (page_addons
    # is an interface several faces may provide)
    provides={"page_addons": "tests.faces.lobby.views:addons"},
    openapi="tests.faces.lobby.views:OPENAPI",
)
