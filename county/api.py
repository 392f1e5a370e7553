"""The county API (blueprint "county_api", /api/county/...).

Signed by a site (county/signing.py):
    GET  /api/county/ack                 the sequence the centre acknowledged
    POST /api/county/batches             a batch of records -> {"acked", "applied"}
    GET  /api/county/catalogue           the catalogue for the site's level (ETag, 304)
Supervisors and admins of the centre:
    GET  /api/county/sites               every site at a glance (the /county rows)
    GET  /api/county/sites/<id>/stats    a site's /api/stats, computed at the centre
    GET  /api/county/ranking             sites within their level, departments county-wide
    GET  /api/county/ratings             every 差评 in the county, overdue flagged
    GET  /api/county/export.xlsx?month=  the month's workbook (督查考评)
    GET  /api/county/province            ratings to the province: counts and problems
    POST /api/county/province/<key>/retry   重试 by hand
    PUT  /api/county/catalogue           (admin) put matters in the catalogue
Anyone:
    GET  /api/county/matters?service=    the matters a service offers, with materials
A site's supervisors:
    GET  /api/county/link                the link to the centre (state, backlog, ...)
The village point's clerk:
    POST /api/county/visits              a walk-in recorded at a window (village.py)
    POST /api/county/visits/<id>/rating  the citizen rates on the point's tablet
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, g, jsonify, request

from hall.app import current_hall
from hall.auth import require
from hall.errors import Invalid, NotFound
from hall.validate import choice_arg, date_arg, flag_arg, json_body, text_arg
from hall.vocabulary import MANAGER_ROLES

from . import catalogue as cat
from . import centre, province
from .figures import rankings, site_stats
from .replica import BatchError
from .state import state_of

bp = Blueprint("county_api", __name__, url_prefix="/api/county")

SORTS = ("overall", "good_rate", "bad_rate", "avg_wait_s", "service_level")


def _state():
    st = state_of(current_hall())
    if st is None:  # pragma: no cover - the blueprint comes with the state
        raise NotFound("未启用县域功能 (county face not installed)")
    return st


def _signed_site() -> dict:
    hall = current_hall()
    return centre.authenticate(
        hall, request.method, request.full_path.rstrip("?"), request.headers, request.get_data()
    )


# --- signed by a site ------------------------------------------------------------------------
@bp.get("/ack")
def ack():
    site = _signed_site()
    return jsonify(site=site["id"], acked=_state().replicas.acked(site["id"]))


@bp.post("/batches")
def batches():
    site = _signed_site()
    data = json_body()
    try:
        answer = _state().reception.receive(site, data)
    except BatchError as e:
        return jsonify(error=e.message, acked=e.acked), e.status
    return jsonify(answer)


@bp.get("/catalogue")
def catalogue_for_site():
    """Signed: the matters the site's level may offer. Unsigned (staff): all of them."""
    hall = current_hall()
    if request.headers.get("X-County-Site"):
        level = _signed_site()["level"]
    else:
        actor = hall.auth.actor()
        if actor is None:
            from hall.errors import Unauthorized

            raise Unauthorized("请先登录或使用站点签名 (login or a signed request)")
        level = None
    matters = cat.centre_matters(hall.store.db(), level)
    etag = cat.etag_of(matters)
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status=304, headers={"ETag": etag})
    resp = jsonify(matters=matters, count=len(matters))
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.put("/catalogue")
@require("admin")
def put_catalogue():
    data = json_body()
    matters = data.get("matters")
    if not isinstance(matters, list) or not matters or len(matters) > 2000:
        raise Invalid("matters须为事项列表，最多2000项 (matters: a list of up to 2000)")
    return jsonify(cat.save(current_hall(), matters, g.actor))


# --- the centre's supervisors ---------------------------------------------------------------
@bp.get("/sites")
@require(*MANAGER_ROLES)
def sites():
    st = _state()
    return jsonify(st.overview.all_rows())


@bp.get("/status")
@require(*MANAGER_ROLES)
def centre_status():
    """The centre's own state: sites, the ranking's day cache and work in hand."""
    return jsonify(_state().status())


def _range(default_month: bool = False) -> tuple[date, date]:
    hall = current_hall()
    today = hall.hours.local(hall.clock.now()).date()
    start, end = date_arg("from", None), date_arg("to", None)
    if start is None and end is None and default_month:
        return today.replace(day=1), today
    start = start or end or today
    end = end or start
    if end < start:
        raise Invalid("to 不能早于 from (to is before from)")
    if (end - start).days > 366:
        raise Invalid("时间范围最多一年 (at most one year)")
    return start, end


@bp.get("/sites/<site_id>/stats")
@require(*MANAGER_ROLES)
def stats_of_site(site_id: str):
    st = _state()
    site = st.site(site_id) if len(site_id) <= 32 else None
    if site is None:
        raise NotFound(f"没有站点{site_id} (no site)")
    start, end = _range()
    return jsonify(site_stats(st, site, start, end))


@bp.get("/ranking")
@require(*MANAGER_ROLES)
def ranking():
    start, end = _range(default_month=True)
    sort = choice_arg("sort", SORTS) or "overall"
    return jsonify(rankings(_state(), start, end, sort))


@bp.get("/ratings")
@require(*MANAGER_ROLES)
def bad_ratings():
    from .ratings import county_bad_ratings

    start, end = _range(default_month=True)
    overdue = flag_arg("overdue", False)
    site = text_arg("site", 32)
    return jsonify(county_bad_ratings(_state(), start, end, overdue_only=overdue, site_id=site))


@bp.get("/export.xlsx")
@require(*MANAGER_ROLES)
def export():
    from .export import month_workbook, parse_month

    month = parse_month(text_arg("month", 7))
    data = month_workbook(_state(), month)
    name = f"county-{month:%Y-%m}.xlsx"
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/province")
@require(*MANAGER_ROLES)
def province_summary():
    return jsonify(province.summary(current_hall()))


@bp.post("/province/<key>/retry")
@require(*MANAGER_ROLES)
def province_retry(key: str):
    if len(key) > 120:
        raise NotFound("没有这条评价的报送记录 (no such delivery)")
    hall = current_hall()
    row = province.retry(hall, key, g.actor)
    st = _state()
    if st.sender is not None:
        st.sender.wake()
    return jsonify(province.delivery_json(hall, row))


# --- a site ------------------------------------------------------------------------------------
@bp.get("/link")
@require(*MANAGER_ROLES)
def link():
    return jsonify(_state().shipper.status())


@bp.get("/matters")
def matters():
    """A service's offered matters with their materials (the kiosk, the phone page)."""
    hall = current_hall()
    service = text_arg("service", 32)
    st = _state()
    if service:
        if hall.engine.read.service(hall.store.db(), service) is None:
            raise NotFound(f"没有这项业务 (unknown service {service!r})")
        return jsonify(st.catalogue.offered(service))
    return jsonify(st.catalogue.all())


@bp.post("/visits")
@require("clerk", *MANAGER_ROLES)
def visits():
    from .village import record_visit

    return jsonify(record_visit(current_hall(), json_body(), g.actor)), 201


@bp.post("/visits/<int:ticket_id>/rating")
@require("clerk", *MANAGER_ROLES)
def visit_rating(ticket_id: int):
    from .village import rate_at_point

    return jsonify(rate_at_point(current_hall(), ticket_id, json_body(), g.actor)), 201
