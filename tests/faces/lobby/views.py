"""The lobby face's parts (see __init__.py for its declaration)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from hall import events as ev
from hall.app import current_hall
from hall.realtime import FaceNamespace, Message

bp = Blueprint("lobby", __name__, url_prefix="/api")


def _count(hall, day: str) -> int:
    rows = list(hall.store.db().query("SELECT issued FROM lobby_counts WHERE day = ?", [day]))
    return rows[0]["issued"] if rows else 0


@bp.get("/lobby")
def lobby():
    hall = current_hall()
    return jsonify(title=hall.cfg.lobby["title"], issued=_count(hall, hall.engine.read.today()))


def count_hook(hall):
    def hook(ctx) -> dict:
        def run(db, out):
            db.execute(
                "INSERT INTO lobby_counts (day, issued) VALUES (?, 1) "
                "ON CONFLICT (day) DO UPDATE SET issued = issued + 1",
                [ctx.ticket["day"]],
            )

        hall.engine.write(run)
        return {
            "lobby_count": _count(hall, ctx.ticket["day"]),
            "lobby_note": ctx.options.get("lobby_note"),
        }

    return hook


def routes(hall):
    def messages(event):
        if isinstance(event, ev.TicketIssued):
            return [Message("/lobby", "board", {"number": event.number}, key="board")]
        return []

    return messages


class LobbyNamespace(FaceNamespace):
    path = "/lobby"
    topics = {"counts": "queue"}


OPENAPI = {
    "paths": {
        "/api/lobby": {
            "get": {
                "summary": "The lobby board's title and today's count",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "title": {"type": "string"},
                                        "issued": {"type": "integer", "minimum": 0},
                                    },
                                    "required": ["title", "issued"],
                                }
                            }
                        },
                    }
                },
            }
        }
    },
    "schemas": {},
}


def configure(parser) -> None:
    parser.add_argument("--day", help="YYYY-MM-DD (default: today)")


def run(args) -> int:
    from hall.cli import make_app

    hall = make_app(args).extensions["hall"]
    print(_count(hall, args.day or hall.engine.read.today()))
    return 0


class Addons:
    """hall.interfaces.PageAddons: a button on the kiosk's start screen."""

    def for_page(self, page: str, **context) -> dict:
        if page != "kiosk" or context.get("mode", "start") == "ticket":
            return {}
        button = {
            "label": "东门导览",
            "href": "/api/lobby",
            "id": "k-lobby-btn",
            "cls": "k-lobby",
            "method": "get",
            "fields": {},
        }
        return {"buttons": [button], "data": {"lobby": "east"}}


def addons(app, hall) -> Addons:
    return Addons()
