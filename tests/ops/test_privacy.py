"""Personal data is kept no longer than [privacy] retention_days, and erasing it changes
no figure."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hall import create_app, privacy
from hall.face import Face, PersonalData

from ..conftest import ROOT, TEST_CONFIG, local

PHONE = "13812345678"
OTHER_PHONE = "13698765432"
COMMENT_PHONE = "13987654321"
ID_NUMBER = "11010519491231002X"


def db_bytes(hall) -> bytes:
    path = hall.store.path
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass
    return data


def figures(boss, day: str) -> dict:
    r = boss.get(f"/api/stats?from={day}&to={day}")
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    out.pop("generated_at")
    return out


def test_purge_masks_personal_data_and_changes_no_figure(app, hall, client, clock, staff, clerk_at):
    # Monday: two bookings for Tuesday 09:00; one is checked in, served and rated with a
    # comment holding a phone and an ID number; the other is never used (missed).
    booked = client.post(
        "/api/appointments",
        json={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "张三丰",
            "phone": PHONE,
        },
    )
    assert booked.status_code == 201, booked.get_json()
    code = booked.get_json()["code"]
    missed = client.post(
        "/api/appointments",
        json={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "李四",
            "phone": OTHER_PHONE,
        },
    )
    assert missed.status_code == 201
    clock.set(local(2026, 12, 1, 8, 45))
    ticket = client.post(f"/api/appointments/{code}/check-in", json={})
    assert ticket.status_code == 201, ticket.get_json()
    t = ticket.get_json()
    clerk = clerk_at(1)
    assert clerk.post("/api/windows/1/call-next").get_json()["ticket"]["id"] == t["id"]
    clock.advance(300)
    assert clerk.post(f"/api/tickets/{t['id']}/finish").status_code == 200
    r = client.post(
        f"/api/tickets/{t['token']}/rating",
        json={
            "score": 2,
            "reasons": ["效率低"],
            "comment": f"请回电{COMMENT_PHONE}，身份证{ID_NUMBER}",
        },
    )
    assert r.status_code == 201, r.get_json()
    clock.set(local(2026, 12, 1, 17, 0))
    boss = staff("boss", role="supervisor")
    admin = staff("root", role="admin")
    before = figures(boss, "2026-12-01")
    assert before["appointments"]["checked_in"] == 1 and before["appointments"]["missed"] == 1
    assert before["ratings"]["bad_count"] == 1
    for secret in (PHONE, OTHER_PHONE, COMMENT_PHONE, ID_NUMBER, "张三丰"):
        assert secret.encode() in db_bytes(hall)

    # 180 days later nothing is due yet (kept for retention_days after the slot's day).
    clock.set(local(2027, 5, 30, 3, 0))
    privacy.purge(hall)
    assert PHONE.encode() in db_bytes(hall)

    # A booking made now is recent: it must stay as it is.
    clock.set(local(2027, 5, 31, 9, 0))
    fresh = client.post(
        "/api/appointments",
        json={
            "service": "SB",
            "date": "2027-06-01",
            "slot": "09:00",
            "name": "王五",
            "phone": "13511112222",
        },
    )
    assert fresh.status_code == 201, fresh.get_json()

    clock.set(local(2027, 5, 31, 3, 0))  # 181 days after the slot's day
    result = privacy.purge(hall)
    assert result["cutoff"] == "2026-12-02"
    assert result["changed"]["appointments.phone"] == 2
    assert result["changed"]["appointments.name"] == 2
    assert result["changed"]["ratings.comment"] == 1

    # The figures of that day are what they were (signed in again: sessions expire).
    boss, admin = staff("boss", role="supervisor"), staff("root", role="admin")
    assert figures(boss, "2026-12-01") == before
    # The numbers are gone from the database file (and its WAL), not just hidden.
    data = db_bytes(hall)
    for secret in (PHONE, OTHER_PHONE, COMMENT_PHONE, ID_NUMBER, "张三丰", "李四"):
        assert secret.encode() not in data, secret
    assert b"13511112222" in data and "王五".encode() in data
    # What is left is the masked form the pages showed anyway.
    row = admin.get(f"/api/appointments/{code}").get_json()
    assert row["phone"] == "138****5678" and row["name"] == "张**"
    comment = hall.store.db().execute("SELECT comment FROM ratings").fetchone()[0]
    assert comment == "请回电139****4321，身份证110***********002X"
    # Purging again changes nothing more; every run is in the audit log.
    assert sum(privacy.purge(hall)["changed"].values()) == 0
    audit = list(hall.store.db().query("SELECT * FROM audit_log WHERE action = 'privacy_purge'"))
    assert len(audit) == 3


def test_redact_numbers_leaves_other_digits():
    text = "票号B001，13812345678；座机010-12345678；订单20261130123456789；13812345678901"
    assert privacy.redact_numbers(text) == (
        "票号B001，138****5678；座机010-12345678；订单20261130123456789；13812345678901"
    )
    assert privacy.redact_numbers(None) is None


def test_a_face_joins_the_contract(tmp_path, clock, monkeypatch):
    """A later face (say, SMS notices) declares its column and the purge covers it."""
    import hall.face as face_mod

    def m950_sms(db):
        db["sms_sent"].create({"id": int, "phone": str, "sent_at": str}, pk="id")

    sms = Face(
        name="sms",
        migrations=(m950_sms,),
        personal_data=(PersonalData("sms_sent", "phone", "sent_at", None, "SMS phone"),),
    )
    monkeypatch.setattr(face_mod, "declaration", _with({"tests.sms_face": sms}))
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "sms.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
            "FACES": ["tests.sms_face"],
            "HALL": {"privacy": {"retention_days": 31}},
        }
    )
    hall = app.extensions["hall"]
    try:
        with hall.store.write() as db:
            db["sms_sent"].insert_all(
                [
                    {"phone": PHONE, "sent_at": "2026-10-01T01:00:00.000+00:00"},
                    {"phone": OTHER_PHONE, "sent_at": "2026-11-29T01:00:00.000+00:00"},
                ]
            )
        assert ("sms", sms.personal_data[0]) in privacy.declared(hall)
        result = privacy.purge(hall)
        assert result["changed"]["sms_sent.phone"] == 1
        phones = [r[0] for r in hall.store.db().execute("SELECT phone FROM sms_sent ORDER BY id")]
        assert phones == ["", OTHER_PHONE]
    finally:
        hall.store.close()


def _with(extra: dict):
    import hall.face as face_mod

    real = face_mod.declaration

    def declaration(package):
        return extra[package] if package in extra else real(package)

    return declaration


def test_a_bad_declaration_stops_start_up():
    with pytest.raises(ValueError, match="not a column name"):
        privacy.check([("x", PersonalData("t; DROP TABLE t", "c", "at"))])


def test_purge_command(tmp_path):
    env = {
        "HALL_CONFIG": TEST_CONFIG,
        "HALL_DATABASE": str(tmp_path / "cli.sqlite3"),
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "hall", "purge"],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "appointments.phone: 0 rows" in done.stdout
