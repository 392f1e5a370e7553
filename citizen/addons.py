"""The "page_addons" interface (hall/interfaces.py): the kiosk gets the 长者模式 button,
the ID-card script and, on its ticket screen, 短信提醒; the 预约签到 screen gets the
ID-card script of a serial or agent reader; the guide desk gets the 呼叫帮办 alerts.
The pages render what is given; they never import this face."""

from __future__ import annotations

from flask import url_for


class Addons:
    def __init__(self, hall):
        self.hall = hall

    def for_page(self, page: str, **context) -> dict:
        out: dict = {"scripts": [], "styles": [], "buttons": [], "data": {}}
        if page == "kiosk":
            kiosk = context.get("kiosk")
            mode = context.get("mode", "start")
            suffix = f"?kiosk={kiosk}" if kiosk else ""
            if mode != "ticket":
                out["buttons"].append(
                    {
                        "label": "长者模式",
                        "href": f"/kiosk/elder{suffix}",
                        "id": "k-elder-btn",
                        "cls": "k-elder",
                        "method": "get",
                        "fields": {},
                    }
                )
            reader = self._reader(kiosk)
            if reader is not None and mode != "ticket":
                out["scripts"].append(url_for("citizen.static", filename="idcard.js"))
                out["data"].update({"idcard": reader["kind"], "idcard-kiosk": kiosk})
            sms = self.hall.faces.state("citizen").notifier.enabled
            if mode == "ticket" and sms and context.get("token"):
                out["buttons"].append(
                    {
                        "label": "短信提醒",
                        "href": "/kiosk/notify",
                        "id": "k-sms-btn",
                        "cls": "k-sms",
                        "method": "post",
                        "fields": {"ticket": context["token"], "kiosk": kiosk or ""},
                    }
                )
        elif page == "phone":
            sms = self.hall.faces.state("citizen").notifier.enabled
            if sms and context.get("status") == "waiting" and context.get("token"):
                out["buttons"].append(
                    {
                        "label": "即将到号短信提醒",
                        "href": "/m/notify",
                        "id": "p-sms-btn",
                        "cls": "ghost",
                        "method": "post",
                        "fields": {"ticket": context["token"]},
                    }
                )
        elif page == "checkin":
            # 预约签到 screen: a keyboard-mode reader types into its code field (the
            # number stands for the code there); a serial or agent reader's card is
            # taken to the card's screen, which checks the booking in.
            reader = self._reader(context.get("kiosk"))
            if reader is not None and context.get("mode", "start") != "ticket":
                out["data"].update({"idcard": reader["kind"], "idcard-kiosk": reader["kiosk"]})
                if reader["kind"] != "keyboard":
                    out["scripts"].append(url_for("citizen.static", filename="idcard.js"))
        elif page == "guide":
            out["scripts"].append(url_for("citizen.static", filename="helpdesk.js"))
            out["styles"].append(url_for("citizen.static", filename="helpdesk.css"))
        return out

    def _reader(self, kiosk: str | None) -> dict | None:
        if not kiosk:
            return None
        readers = self.hall.cfg.arrays.get("card_readers", [])
        return next((r for r in readers if r["kiosk"] == kiosk), None)


def make(app, hall) -> Addons:
    return Addons(hall)
