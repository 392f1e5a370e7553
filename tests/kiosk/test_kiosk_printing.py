"""A ticket taken at the kiosk is printed: through the real issue flow, to python-escpos'
Dummy and to a fake port-9100 printer; the printed QR code opens the ticket's page."""

from __future__ import annotations

import io

from PIL import Image, ImageChops

from .conftest import PUBLIC, count, kiosks, printed_images, qr_texts, services_with_matters


def issue(client, **body):
    r = client.post("/api/tickets", json={"service": "SB", **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def token_of(hall, ticket_id: int) -> str:
    return (
        hall.store.db().execute("SELECT token FROM tickets WHERE id = ?", [ticket_id]).fetchone()[0]
    )


def png(client, url) -> Image.Image:
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert "no-store" in r.headers["Cache-Control"]
    return Image.open(io.BytesIO(r.data))


def test_dummy_printer_prints_the_issued_ticket(make_app):
    app = make_app()  # K1 has no printer of its own: [printer] defaults, driver dummy
    hall = app.extensions["hall"]
    client = app.test_client()
    t = issue(client, kiosk="K1")
    assert t["printed"] is True and t["print_error"] is None and t["printer"] == "K1"
    (img,) = printed_images(hall.faces.interface("printers")["K1"].last_output)
    assert img.width == 576  # 80 mm paper
    url = f"{PUBLIC}/t/{token_of(hall, t['id'])}"
    assert qr_texts(img) == [url]
    assert url == f"{PUBLIC}/t/{t['token']}"
    # The phone opens that address: it is this ticket's page.
    page = client.get(f"/t/{t['token']}").get_data(as_text=True)
    assert t["number"] in page and "社会保险" in page


def test_network_printer_prints_the_issued_ticket(make_app, fake_printer):
    app = make_app(kiosks=kiosks(fake_printer.config()))
    hall = app.extensions["hall"]
    client = app.test_client()
    first = issue(client, kiosk="K1")
    t = issue(client, kiosk="K1")
    assert t["printed"] is True and t["number"] == "B002"
    assert fake_printer.wait_idle()
    assert fake_printer.connections == 2  # one job per ticket, nothing printed twice
    (img,) = printed_images(fake_printer.jobs[-1])
    assert qr_texts(img) == [f"{PUBLIC}/t/{token_of(hall, t['id'])}"]
    (img1,) = printed_images(fake_printer.jobs[0])
    assert qr_texts(img1) == [f"{PUBLIC}/t/{first['token']}"]
    # The printer was asked whether it is online and has paper (DLE EOT 1 and 4).
    assert ("dle_eot", 1) in fake_printer.queries and ("dle_eot", 4) in fake_printer.queries
    # GET ticket.png is the image that was printed, dot for dot (nobody called meanwhile).
    shown = png(client, f"/api/tickets/{t['token']}/ticket.png").convert("L")
    assert shown.size == img.size
    assert ImageChops.difference(shown, img).getbbox() is None


def test_text_mode_sends_gb18030_and_a_native_qr(make_app, fake_printer):
    app = make_app(kiosks=kiosks(fake_printer.config(mode="text", paper_width_mm=58)))
    hall = app.extensions["hall"]
    t = issue(app.test_client(), service="BDC", kiosk="K1")
    assert t["printed"] is True
    assert fake_printer.wait_idle()
    job = fake_printer.jobs[-1]
    assert b"\x1c\x26" in job  # FS &: Chinese character mode
    assert "不动产登记".encode("gb18030") in job
    assert "测试政务服务大厅".encode("gb18030") in job
    assert "前面还有0人等候".encode("gb18030") in job
    assert t["number"].encode() in job
    url = f"{PUBLIC}/t/{token_of(hall, t['id'])}".encode()
    assert b"\x1d(k" in job and url in job  # GS ( k: the printer draws the QR itself
    assert not printed_images(job)  # no raster in text mode


def test_58mm_paper_and_ticket_png_follow_the_kiosks_printer(make_app, fake_printer):
    app = make_app(kiosks=kiosks(fake_printer.config(paper_width_mm=58)))
    client = app.test_client()
    t = issue(client, kiosk="K1")
    assert fake_printer.wait_idle()
    (img,) = printed_images(fake_printer.jobs[-1])
    assert img.width == 384
    assert png(client, f"/api/tickets/{t['token']}/ticket.png").width == 384


def test_who_prints_when(make_app):
    """kiosk id -> its printer; no kiosk -> no paper unless print: true ([printer])."""
    app = make_app()
    hall = app.extensions["hall"]
    client = app.test_client()
    t = issue(client)  # the API or a guide desk without a printer: nothing printed
    assert (t["printed"], t["printer"], t["print_error"]) == (False, None, None)
    assert hall.faces.interface("printers")["default"].last_output is None
    t = issue(client, print=True)
    assert (t["printed"], t["printer"]) == (True, "default")
    (img,) = printed_images(hall.faces.interface("printers")["default"].last_output)
    assert qr_texts(img) == [f"{PUBLIC}/t/{t['token']}"]
    t = issue(client, kiosk="K1", print=False)
    assert (t["printed"], t["printer"]) == (False, None)
    assert hall.faces.interface("printers")["K1"].last_output is None
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 3


def test_kiosk_page_prints_on_its_printer(make_app, fake_printer):
    app = make_app(kiosks=kiosks(fake_printer.config()))
    hall = app.extensions["hall"]
    client = app.test_client()
    r = client.post("/kiosk/K1", data={"service": "YB"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "C001" in html and "请取走出票口的号票" in html and "请拍照保存" not in html
    assert fake_printer.wait_idle() and fake_printer.connections == 1
    # /kiosk (no id) prints on the [printer] default, here the dummy.
    r = client.post("/kiosk", data={"service": "YB"})
    assert "C002" in r.get_data(as_text=True)
    (img,) = printed_images(hall.faces.interface("printers")["default"].last_output)
    token = token_of(hall, 2)
    assert qr_texts(img) == [f"{PUBLIC}/t/{token}"]
    assert fake_printer.connections == 1


def test_matter_is_printed_and_echoed_not_stored(make_app):
    app = make_app(services=services_with_matters())
    hall = app.extensions["hall"]
    client = app.test_client()
    t = issue(client, service="BDC", kiosk="K1", matter="抵押登记")
    assert t["matter"] == "抵押登记"
    with_matter = printed_images(hall.faces.interface("printers")["K1"].last_output)[0]
    t2 = issue(client, service="BDC", kiosk="K1", matter="不存在的事项")
    assert "matter" not in t2  # not one of the service's matters: ignored
    plain = printed_images(hall.faces.interface("printers")["K1"].last_output)[0]
    assert with_matter.height > plain.height  # the extra line 办理事项：抵押登记
    details = [r[0] for r in hall.store.db().execute("SELECT details FROM ticket_events")]
    assert not any("抵押登记" in d for d in details)  # a UI choice only


def test_qr_png_is_the_progress_address(make_app):
    app = make_app()
    client = app.test_client()
    t = issue(client)
    assert qr_texts(png(client, f"/api/tickets/{t['token']}/qr.png")) == [
        f"{PUBLIC}/t/{t['token']}"
    ]
    for bad in ("nope", "x" * 65):
        assert client.get(f"/api/tickets/{bad}/qr.png").status_code == 404
        assert client.get(f"/api/tickets/{bad}/ticket.png").status_code == 404
    r = client.get("/api/kiosk/book-qr/CRJ.png")
    assert qr_texts(Image.open(io.BytesIO(r.data))) == [f"{PUBLIC}/book?service=CRJ"]
    assert client.get("/api/kiosk/book-qr/NOPE.png").status_code == 404


def test_print_and_matter_are_checked_before_issuing(make_app):
    app = make_app()
    hall = app.extensions["hall"]
    client = app.test_client()
    for body in ({"print": "yes"}, {"matter": 3}, {"matter": "事" * 51}):
        r = client.post("/api/tickets", json={"service": "SB", "kiosk": "K1", **body})
        assert r.status_code == 400 and r.get_json()["error"]
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 0
    assert hall.faces.interface("printers")["K1"].last_output is None
