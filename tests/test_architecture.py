"""The face contract (docs/architecture.md): faces stay apart, and a face added through
the contract alone gets every part it declares."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from hall import create_app
from hall.cli import main as hall_main
from hall.face import INSTALLED, OPTIONAL, declaration
from hall.realtime import socketio

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = {"hall", "printer", "tests", "bench", "docs"}
LOBBY = "tests.faces.lobby"


def _faces() -> list[str]:
    return sorted(
        p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name not in LIBRARIES
    )


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_every_face_package_is_installed_and_declares_a_face():
    """Every face package runs in every hall (INSTALLED) or where a config installs it
    (OPTIONAL, e.g. county); nothing else lies around unused."""
    assert set(_faces()) == set(INSTALLED) | set(OPTIONAL)
    assert not set(INSTALLED) & set(OPTIONAL)
    for name in INSTALLED + OPTIONAL:
        assert declaration(name).name == name


def test_no_face_imports_another_face_and_the_core_imports_none():
    faces = set(_faces())
    crossings = []
    for top in ["hall", *faces]:
        for path in (ROOT / top).rglob("*.py"):
            for line, module in _imports(path):
                root = module.split(".")[0]
                if root in faces and root != top:
                    crossings.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert crossings == []


def test_the_contract_check_sees_a_crossing(tmp_path, monkeypatch):
    """The scan above would catch an import of another face (it is not vacuous)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from kiosk.printing import status_of\nimport display.pages\n")
    assert [m for _, m in _imports(bad)] == ["kiosk.printing", "display.pages"]


def test_hall_context_has_fixed_slots(hall):
    with pytest.raises(AttributeError):
        hall.printers = {}  # a face keeps its things in the registry, not here


# --- a face added through the contract alone (tests/faces/lobby) ---------------------
@pytest.fixture
def lobby_app(tmp_path, clock):
    app = create_app(
        {
            "HALL_CONFIG": str(ROOT / "tests" / "hall_test.toml"),
            "HALL": {"lobby": {"title": "东门入口"}},
            "FACES": [LOBBY],
            "DATABASE": str(tmp_path / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    yield app
    app.extensions["hall"].store.close()


def test_lobby_face_gets_every_part_it_declares(lobby_app):
    hall = lobby_app.extensions["hall"]
    client = lobby_app.test_client()
    assert "lobby" in hall.faces.names()
    # settings: read from the config; the table from its migration
    assert hall.cfg.lobby["title"] == "东门入口"
    assert "lobby_counts" in hall.store.db().table_names()
    # Socket.IO: its namespace gets the core topic it asked for, and its route's message
    sock = socketio.test_client(lobby_app, namespace="/lobby", flask_test_client=client)
    assert sock.is_connected(namespace="/lobby")
    # issue hook: sees the ticket and its declared option; adds to the answer
    r = client.post("/api/tickets", json={"service": "SB", "lobby_note": "东门"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["lobby_count"] == 1
    assert r.get_json()["lobby_note"] == "东门"
    received = sock.get_received("/lobby")
    names = [m["name"] for m in received]
    assert "counts" in names and "board" in names
    board = next(m for m in received if m["name"] == "board")
    assert board["args"][0]["number"] == r.get_json()["number"]
    # the core validates the option it declared
    bad = client.post("/api/tickets", json={"service": "SB", "lobby_note": "x" * 21})
    assert bad.status_code == 400
    # its endpoint, described in the served OpenAPI document with the option it declared
    assert client.get("/api/lobby").get_json() == {"title": "东门入口", "issued": 1}
    doc = client.get("/api/openapi.json").get_json()
    assert "/api/lobby" in doc["paths"]
    body = doc["paths"]["/api/tickets"]["post"]["requestBody"]["content"]["application/json"]
    assert "lobby_note" in json.dumps(body) or "lobby_note" in json.dumps(doc["components"])


def test_two_faces_add_to_one_page(lobby_app, caplog):
    """page_addons is provided by the citizen face and the lobby face: the kiosk page
    shows both; a provider that fails adds nothing and the others still add theirs."""
    hall = lobby_app.extensions["hall"]
    client = lobby_app.test_client()
    assert len(hall.faces.interfaces("page_addons")) == 2
    assert hall.faces.interface("page_addons") is hall.faces.interfaces("page_addons")[0]
    page = client.get("/kiosk").get_data(as_text=True)
    assert 'id="k-elder-btn"' in page and 'id="k-lobby-btn"' in page
    assert page.index('id="k-elder-btn"') < page.index('id="k-lobby-btn"')  # face order
    assert 'data-lobby="east"' in page
    citizen = hall.faces.interfaces("page_addons")[0]
    original = citizen.for_page
    citizen.for_page = lambda page, **context: 1 / 0
    try:
        page = client.get("/kiosk").get_data(as_text=True)
    finally:
        citizen.for_page = original
    assert 'id="k-lobby-btn"' in page and 'id="k-elder-btn"' not in page
    assert "page add-ons for kiosk failed" in caplog.text
    # any other interface is still provided once
    with pytest.raises(ValueError, match="provided twice"):
        hall.faces.provide("printers", object())


def test_an_unknown_setting_of_the_face_stops_start_up(tmp_path):
    from hall.config import ConfigError

    with pytest.raises(ConfigError, match="lobby.colour"):
        create_app(
            {
                "HALL_CONFIG": str(ROOT / "tests" / "hall_test.toml"),
                "HALL": {"lobby": {"colour": "red"}},
                "FACES": [LOBBY],
                "DATABASE": str(tmp_path / "hall.sqlite3"),
            }
        )


def test_the_face_command_runs_from_the_command_line(tmp_path, capsys, monkeypatch):
    config = tmp_path / "hall.toml"
    text = (ROOT / "tests" / "hall_test.toml").read_text(encoding="utf-8")
    db = json.dumps(str(tmp_path / "hall.sqlite3"))
    text = text.replace("[hall]", f'[hall]\nfaces = ["{LOBBY}"]\ndatabase = {db}', 1)
    config.write_text(text, encoding="utf-8")
    assert hall_main(["--config", str(config), "lobby-count"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "0"
    assert hall_main(["--config", str(config), "settings"]) == 0
    assert "lobby.title" in capsys.readouterr().out
