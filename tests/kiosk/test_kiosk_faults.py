"""Printer faults lose nothing: the ticket is issued exactly once and stays in the queue,
the answer says printed: false, /api/printers and a `printer` event show the fault, and
the printer recovers. Also the status monitor and 补打 (reprint)."""

from __future__ import annotations

import logging
import time

import pytest

from tests.fakeprinter import FakePrinter

from .conftest import PUBLIC, closed_port, count, kiosks, login, printed_images, qr_texts

# mode -> the status /api/printers shows after a failed print
FAULTS = {
    "refused": "offline",
    "hang": "offline",  # no answer to the status query before the job
    "drop": "error",  # connection reset in the middle of the job
    "paper_out": "paper_out",
    "offline": "offline",
}


@pytest.fixture
def faulty(make_app, printer_events):
    """faulty(mode) -> (app, fake printer or None, events, port)."""
    made = []

    def make(mode):
        if mode == "refused":
            fp, port = None, closed_port()
        else:
            fp = FakePrinter(mode=mode, drop_after=2048).start()
            made.append(fp)
            port = fp.port
        cfg = {"driver": "network", "host": "127.0.0.1", "port": port, "timeout": 0.5}
        app = make_app(kiosks=kiosks(cfg))
        return app, fp, printer_events(app.extensions["hall"]), port

    yield make
    for fp in made:
        fp.stop()


@pytest.mark.parametrize("mode", list(FAULTS))
def test_fault_issues_once_and_recovers(faulty, mode, caplog):
    caplog.set_level(logging.DEBUG)
    app, fp, events, port = faulty(mode)
    hall = app.extensions["hall"]
    kiosk = app.test_client()
    sup = login(app, "boss", "supervisor")

    r = kiosk.post("/api/tickets", json={"service": "SB", "kiosk": "K1"})
    assert r.status_code == 201
    t = r.get_json()
    assert t["number"] == "B001" and t["printed"] is False
    assert t["print_error"] and t["printer"] == "K1" and t["print_status"] == FAULTS[mode]
    # Exactly one ticket, one issued event; it is waiting in the queue.
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 1
    assert count(hall, "SELECT COUNT(*) FROM ticket_events WHERE kind = 'issued'") == 1
    assert kiosk.get(f"/api/tickets/{t['token']}").get_json()["status"] == "waiting"
    sb = next(s for s in kiosk.get("/api/services").get_json() if s["code"] == "SB")
    assert sb["waiting"] == 1

    printers = {p["kiosk"]: p for p in sup.get("/api/printers").get_json()}
    assert printers["K1"]["status"] == FAULTS[mode]
    assert printers["K1"]["last_error"] and printers["K1"]["driver"] == "network"
    assert printers["K1"]["checked_at"].endswith("+08:00")  # hall time
    assert printers["default"]["status"] == "unknown"  # never used, never polled here
    assert [e.status for e in events if e.kiosk == "K1"] == [FAULTS[mode]]
    assert events[-1].last_error == printers["K1"]["last_error"]

    # The fault is logged; the ticket's token never is.
    assert any(
        "not printed" in rec.getMessage() and "B001" in rec.getMessage() for rec in caplog.records
    )
    assert not any(t["token"] in rec.getMessage() for rec in caplog.records)

    # Recovery: the printer is back (refused: a printer now listens on that port).
    if fp is None:
        fp = FakePrinter(port=port).start()
    else:
        fp.wait_idle(5)
        fp.mode = "ok"
        fp.clear()
    try:
        r = kiosk.post("/api/tickets", json={"service": "SB", "kiosk": "K1"})
        t2 = r.get_json()
        assert r.status_code == 201 and t2["printed"] is True and t2["number"] == "B002"
        assert fp.wait_idle()
        (img,) = printed_images(fp.jobs[-1])
        assert qr_texts(img) == [f"{PUBLIC}/t/{t2['token']}"]
        printers = {p["kiosk"]: p for p in sup.get("/api/printers").get_json()}
        assert printers["K1"]["status"] == "ok" and printers["K1"]["last_error"] is None
        assert [e.status for e in events if e.kiosk == "K1"] == [FAULTS[mode], "ok"]
        assert count(hall, "SELECT COUNT(*) FROM tickets") == 2
    finally:
        if mode == "refused":
            fp.stop()


def test_kiosk_screen_shows_the_ticket_when_printing_fails(faulty):
    app, fp, _, _ = faulty("paper_out")
    hall = app.extensions["hall"]
    r = app.test_client().post("/kiosk/K1", data={"service": "BDC"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    token = hall.store.db().execute("SELECT token FROM tickets").fetchone()[0]
    assert "A001" in html and "号票未能打印" in html and "请拍照保存" in html
    assert "打印机缺纸" in html  # the reason, in Chinese only
    assert f'src="/api/tickets/{token}/qr.png"' in html  # the QR code on screen
    assert 'id="k-done"' in html  # 完成
    # A longer countdown to read or photograph it.
    assert f'data-return="{hall.cfg.sections["kiosk"]["fault_return_seconds"]}"' in html
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 1


def test_printers_endpoint_is_for_managers(make_app):
    app = make_app()
    assert app.test_client().get("/api/printers").status_code == 401
    assert login(app, "c1", "clerk").get("/api/printers").status_code == 403
    got = login(app, "a1", "admin").get("/api/printers?check=1").get_json()
    assert [(p["kiosk"], p["driver"], p["status"]) for p in got] == [
        ("default", "dummy", "ok"),
        ("K1", "dummy", "ok"),
    ]
    assert {"kiosk", "name", "driver", "status", "last_error", "checked_at"} <= set(got[0])


def test_monitor_sees_paper_run_out_between_tickets(make_app, fake_printer, printer_events):
    """The background poll finds a printer that ran out of paper with no ticket printed."""
    app = make_app(
        kiosks=kiosks(fake_printer.config()),
        kiosk={"printer_poll_seconds": 0.1},
        config={"KIOSK_PRINTER_POLL": True},
    )
    hall = app.extensions["hall"]
    events = printer_events(hall)
    sup = login(app, "boss", "supervisor")  # a request: the monitor starts
    monitor = app.extensions["hall"].faces.state("kiosk").monitor
    assert monitor.running

    def k1_status():
        return {p["kiosk"]: p for p in sup.get("/api/printers").get_json()}["K1"]["status"]

    wait_for(lambda: k1_status() == "ok")
    fake_printer.mode = "paper_out"
    wait_for(lambda: k1_status() == "paper_out")
    assert any(e.kiosk == "K1" and e.status == "paper_out" for e in events)
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 0
    monitor.stop()
    assert not monitor.running
    rounds = monitor.rounds
    time.sleep(0.3)
    assert monitor.rounds == rounds  # stopped means stopped


def test_monitor_does_not_run_in_tests_unless_asked(make_app):
    app = make_app()
    login(app, "boss", "supervisor")
    assert not app.extensions["hall"].faces.state("kiosk").monitor.running


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# --- 补打 (reprint) ---------------------------------------------------------------------
def test_reprint(make_app, fake_printer):
    app = make_app(kiosks=kiosks(fake_printer.config(), K2={"driver": "dummy"}))
    hall = app.extensions["hall"]
    kiosk = app.test_client()
    guide = login(app, "guide", "clerk")
    t = kiosk.post("/api/tickets", json={"service": "SB", "kiosk": "K1"}).get_json()
    assert fake_printer.wait_idle() and fake_printer.connections == 1

    r = guide.post(f"/api/tickets/{t['id']}/reprint", json={})
    body = r.get_json()
    assert r.status_code == 200 and body["printed"] is True and body["printer"] == "K1"
    assert body["ticket"]["number"] == "B001" and "token" not in body["ticket"]
    assert fake_printer.wait_idle() and fake_printer.connections == 2
    (img,) = printed_images(fake_printer.jobs[-1])
    assert qr_texts(img) == [f"{PUBLIC}/t/{t['token']}"]  # the same QR as the first

    # On another printer; then a fault: answered, audited, nothing changes on the ticket.
    assert (
        guide.post(f"/api/tickets/{t['id']}/reprint", json={"kiosk": "K2"}).get_json()["printer"]
        == "K2"
    )
    fake_printer.mode = "paper_out"
    body = guide.post(f"/api/tickets/{t['id']}/reprint", json={"kiosk": "K1"}).get_json()
    assert body["printed"] is False and "缺纸" in body["error"]
    audit = list(
        hall.store.db().query("SELECT * FROM audit_log WHERE action = 'reprint' ORDER BY id")
    )
    assert [a["actor"] for a in audit] == ["guide"] * 3
    assert all(a["target"] == f"ticket:{t['id']}" for a in audit)
    assert ['"printed": true' in a["details"] for a in audit] == [True, True, False]
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 1
    assert count(hall, "SELECT COUNT(*) FROM ticket_events") == 1

    assert guide.post(f"/api/tickets/{t['id']}/reprint", json={"kiosk": "K9"}).status_code == 400
    assert guide.post(f"/api/tickets/{t['id']}/reprint", json={"kiosk": 3}).status_code == 400
    assert guide.post("/api/tickets/9999/reprint", json={}).status_code == 404
    assert guide.post(f"/api/tickets/{'9' * 25}/reprint", json={}).status_code == 404
    assert kiosk.post(f"/api/tickets/{t['id']}/reprint", json={}).status_code == 401
    guide.environ_base.pop("HTTP_X_CSRF_TOKEN")
    assert guide.post(f"/api/tickets/{t['id']}/reprint", json={}).status_code == 403


def test_reprint_without_kiosk_uses_the_default_printer(make_app):
    app = make_app()
    hall = app.extensions["hall"]
    t = app.test_client().post("/api/tickets", json={"service": "SB"}).get_json()
    body = login(app, "guide", "clerk").post(f"/api/tickets/{t['id']}/reprint", json={}).get_json()
    assert body["printed"] is True and body["printer"] == "default"
    (img,) = printed_images(hall.faces.interface("printers")["default"].last_output)
    assert qr_texts(img) == [f"{PUBLIC}/t/{t['token']}"]


def test_reprint_refuses_finished_tickets(make_app):
    app = make_app()
    t = app.test_client().post("/api/tickets", json={"service": "SB"}).get_json()
    clerk = login(app, "clerk1", "clerk")
    assert clerk.post("/api/windows/1/open", json={}).status_code == 200
    assert clerk.post("/api/windows/1/call-next", json={}).status_code == 200
    assert clerk.post(f"/api/tickets/{t['id']}/finish", json={}).status_code == 200
    r = clerk.post(f"/api/tickets/{t['id']}/reprint", json={})
    assert r.status_code == 409 and "无需补打" in r.get_json()["error"]
