"""Staff lists, masking of personal data, pages, QR codes, figures and settings."""

from __future__ import annotations

import pytest

from appointments.stats import appointment_stats
from hall import create_app
from hall.config import ConfigError
from tests.conftest import TEST_CONFIG, local


# --- staff list and masking -------------------------------------------------------------
def test_staff_list_needs_a_staff_login_and_masks_phones(h):
    h.booked(slot="09:00", phone="13812345678")
    h.booked(slot="10:00", phone="13987654321", service="YB", name="李四")
    assert h.client.get("/api/appointments?date=2026-12-01").status_code == 401
    clerk = h.staff("clerk1")
    r = clerk.get("/api/appointments?date=2026-12-01")
    assert r.status_code == 200
    rows = r.get_json()
    assert [(x["slot"], x["phone"], x["name"]) for x in rows] == [
        ("09:00", "138****5678", "张三丰"),
        ("10:00", "139****4321", "李四"),
    ]
    assert "13812345678" not in r.get_data(as_text=True)
    assert len(clerk.get("/api/appointments?date=2026-12-01&service=YB").get_json()) == 1
    assert clerk.get("/api/appointments?date=2026-12-01&status=missed").get_json() == []
    assert clerk.get("/api/appointments?date=2026-12-01&status=odd").status_code == 400
    assert clerk.get("/api/appointments?date=1-12-2026").status_code == 400
    # Admins see masked numbers in lists too.
    admin = h.staff("admin", "admin")
    assert "13812345678" not in admin.get("/api/appointments?date=2026-12-01").get_data(
        as_text=True
    )


def test_only_an_admin_asking_for_one_record_sees_the_phone(h):
    code = h.booked(phone="13812345678")
    anon = h.client.get(f"/api/appointments/{code}").get_json()
    assert (anon["phone"], anon["name"]) == ("138****5678", "张**")
    sup = h.staff("sup", "supervisor").get(f"/api/appointments/{code}").get_json()
    assert (sup["phone"], sup["name"]) == ("138****5678", "张三丰")
    admin = h.staff("admin", "admin").get(f"/api/appointments/{code}").get_json()
    assert (admin["phone"], admin["name"]) == ("13812345678", "张三丰")
    views = h.audit("appointment_view_phone")
    assert len(views) == 1 and views[0]["actor"] == "admin"
    assert h.client.get("/api/appointments/ZZZZZZZZ").status_code == 404


def test_public_pages_never_show_the_name_or_the_phone(h, clock):
    code = h.booked(phone="13812345678", name="欧阳娜娜")
    page = h.client.get(f"/book/{code}").get_data(as_text=True)
    assert code in page and "138****5678" in page
    assert "13812345678" not in page and "欧阳娜娜" not in page and "娜娜" not in page
    clock.set(local(2026, 12, 1, 9, 0))
    r = h.client.post("/kiosk/checkin", data={"code": code, "kiosk": "K1"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "B001" in html and "社会保险" in html
    assert "欧阳" not in html and "5678" not in html
    audit = str(h.audit("appointment_book"))
    assert "13812345678" not in audit and "欧阳" not in audit


def test_qr_code_png(h):
    code = h.booked()
    r = h.client.get(f"/api/appointments/{code}/qr.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no-store" in r.headers["Cache-Control"]
    from io import BytesIO

    from PIL import Image

    img = Image.open(BytesIO(r.data))
    assert img.size[0] == img.size[1] >= 200
    assert h.client.get("/api/appointments/ZZZZZZZZ/qr.png").status_code == 404


def test_audit_trail_of_every_change(h, clock):
    a = h.booked(phone="13900000001")
    b = h.booked(phone="13900000002")
    c = h.booked(phone="13900000003")
    h.cancel(b)
    clock.set(local(2026, 12, 1, 9, 0))
    h.check_in(a)
    clock.set(local(2026, 12, 1, 10, 0))
    h.client.get(f"/api/appointments/{c}")
    targets = {
        action: [x["target"] for x in h.audit(action)]
        for action in (
            "appointment_book",
            "appointment_cancel",
            "appointment_checkin",
            "appointment_missed",
        )
    }
    assert targets == {
        "appointment_book": [f"appointment:{x}" for x in (a, b, c)],
        "appointment_cancel": [f"appointment:{b}"],
        "appointment_checkin": [f"appointment:{a}"],
        "appointment_missed": [f"appointment:{c}"],
    }


# --- pages (server-rendered) ------------------------------------------------------------
def test_book_page_renders_services_dates_and_slots(h):
    html = h.client.get("/book").get_data(as_text=True)
    assert "预约办理" in html and "社会保险" in html
    assert "2026-12-01 周二" in html and "2026-12-07 周一" in html
    assert 'value="08:30"' in html and "余4" in html
    assert "script" in html and "book.js" in html and "<script>" not in html


def test_booking_through_the_html_form(h):
    r = h.client.post(
        "/book",
        data={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "张三",
            "phone": "13812345678",
        },
    )
    assert r.status_code == 303
    location = r.headers["Location"]
    page = h.client.get(location).get_data(as_text=True)
    assert "预约成功" in page and "2026-12-01 周二" in page and "09:00–09:30" in page
    # The same phone again: the form comes back with the reason and the values kept.
    r = h.client.post(
        "/book",
        data={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "10:00",
            "name": "张三",
            "phone": "13812345678",
        },
    )
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "每人每天限约一次" in html and 'value="13812345678"' in html


def test_cancel_through_the_booking_page(h, clock):
    code = h.booked()
    assert "取消预约" in h.client.get(f"/book/{code}").get_data(as_text=True)
    r = h.client.post(f"/book/{code}/cancel")
    assert r.status_code == 303
    page = h.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已取消" in page and "取消预约</button>" not in page
    assert h.client.get("/book/ZZZZZZZZ").status_code == 404
    r = h.client.get(f"/book/find?code={code.lower()}")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/book/{code}")


def test_checkin_screen_shows_errors_in_chinese(h, clock):
    r = h.client.get("/kiosk/checkin?kiosk=K1")
    assert r.status_code == 200 and "预约签到" in r.get_data(as_text=True)
    assert 'href="/kiosk/K1"' in r.get_data(as_text=True)
    r = h.client.post("/kiosk/checkin", data={"code": "ZZZZZZZZ"})
    assert r.status_code == 404 and "没有这个预约码" in r.get_data(as_text=True)
    r = h.client.post("/kiosk/checkin", data={"code": ""})
    assert r.status_code == 400
    code = h.booked()
    r = h.client.post("/kiosk/checkin", data={"code": code})
    assert r.status_code == 409 and "签到尚未开始" in r.get_data(as_text=True)


# --- figures ----------------------------------------------------------------------------
def test_appointment_stats(h, clock):
    on_time = h.booked(phone="13900000001")
    late = h.booked(phone="13900000002")
    h.booked(phone="13900000003")  # will be missed
    cancelled = h.booked(phone="13900000004", slot="10:00", service="YB")
    h.booked(date="2026-12-02", phone="13900000005")  # outside the range
    h.cancel(cancelled)
    clock.set(local(2026, 12, 1, 9, 0))
    h.check_in(on_time)
    clock.set(local(2026, 12, 1, 9, 20))
    h.check_in(late)
    day = local(2026, 12, 1, 0, 0).date()
    figures = appointment_stats(h.hall, day, day)
    assert {k: v for k, v in figures.items() if k != "by_service"} == {
        "booked": 4,
        "checked_in": 2,
        "late": 1,
        "missed": 1,
        "cancelled": 1,
        "pending": 0,
        "on_time_rate": 0.333,
    }
    assert figures["by_service"]["YB"]["cancelled"] == 1
    assert figures["by_service"]["SB"]["checked_in"] == 2
    empty = appointment_stats(
        h.hall, local(2026, 11, 1, 0, 0).date(), local(2026, 11, 2, 0, 0).date()
    )
    assert empty["booked"] == 0 and empty["on_time_rate"] is None


# --- settings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        {"slot_minutes": 0},
        {"slot_capacity": 0},
        {"days_ahead_min": 3, "days_ahead_max": 2},
        {"checkin_late_minutes": -1},
        {"no_show_limit": -1},
        {"slot_minutes": "30"},
    ],
)
def test_bad_settings_stop_start_up(tmp_path, bad):
    with pytest.raises(ConfigError, match="appointments"):
        create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": {"appointments": bad},
                "DATABASE": str(tmp_path / "x.sqlite3"),
                "NO_VOICE": True,
            }
        )
