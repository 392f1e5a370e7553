"""One catalogue (事项清单) for the county, owned by the centre.

A matter: code (事项编码), name, department, the levels that may offer it, the
materials a citizen brings (申请材料), the legal and the promised time limit (法定/承诺
时限, working days), fees, and a version that goes up whenever any of it changes.

The centre keeps it in county_matters (`python -m hall catalogue load FILE`, or the
admin API). Sites fetch it with a conditional request (ETag / If-None-Match: a 304 when
nothing changed) and keep a copy (county_catalogue); each site picks the matters it
offers per service ([county] offer). The same matter reads the same everywhere: a site
shows the centre's text, never its own.

The "matters" interface (hall/interfaces.py) gives the kiosk and the phone page a
service's offered matters and a ticket's matter, with its materials.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib

from hall.errors import Invalid

from .capture import set_cursor

LEVELS = ("county", "township", "village")
CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
FIELDS = (
    "code",
    "name",
    "department",
    "levels",
    "materials",
    "legal_days",
    "promised_days",
    "fees",
)


def check_matter(m: dict) -> dict:
    """A matter as given (file or API), checked; 400 with the field named otherwise."""
    if not isinstance(m, dict):
        raise Invalid("事项须为对象 (a matter is an object)")
    code = m.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise Invalid(f"事项编码无效：{code!r} (code: letters, digits, . _ -, up to 64)")
    out = {"code": code}
    for key in ("name", "department"):
        v = m.get(key)
        if not isinstance(v, str) or not v.strip() or len(v) > 100:
            raise Invalid(f"事项{code}缺少{key} ({key} required, up to 100 characters)")
        out[key] = v.strip()
    levels = m.get("levels", list(LEVELS))
    if not isinstance(levels, list) or not levels or any(lv not in LEVELS for lv in levels):
        raise Invalid(f"事项{code}的levels须为county、township、village (levels)")
    out["levels"] = [lv for lv in LEVELS if lv in levels]
    materials = m.get("materials", [])
    if (
        not isinstance(materials, list)
        or len(materials) > 40
        or not all(isinstance(x, str) and 0 < len(x.strip()) <= 200 for x in materials)
    ):
        raise Invalid(f"事项{code}的materials须为文字列表 (materials: up to 40 texts)")
    out["materials"] = [x.strip() for x in materials]
    for key in ("legal_days", "promised_days"):
        v = m.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 3650):
            raise Invalid(f"事项{code}的{key}须为0-3650的整数 ({key}: working days)")
        out[key] = v
    if out["legal_days"] is not None and out["promised_days"] is not None:
        if out["promised_days"] > out["legal_days"]:
            raise Invalid(f"事项{code}的承诺时限不能长于法定时限 (promised_days > legal_days)")
    fees = m.get("fees", "")
    if not isinstance(fees, str) or len(fees) > 200:
        raise Invalid(f"事项{code}的fees须为文字 (fees: text)")
    out["fees"] = fees.strip() or "不收费"
    return out


def row_json(r: dict) -> dict:
    return {
        "code": r["code"],
        "name": r["name"],
        "department": r["department"],
        "levels": json.loads(r["levels"] or "[]"),
        "materials": json.loads(r["materials"] or "[]"),
        "legal_days": r["legal_days"],
        "promised_days": r["promised_days"],
        "fees": r["fees"],
        "version": r["version"],
    }


def save(hall, matters: list[dict], actor=None) -> dict:
    """Put matters in the centre's catalogue; a changed matter's version goes up.
    Returns {"added", "changed", "unchanged"}."""
    checked = [check_matter(m) for m in matters]
    codes = [m["code"] for m in checked]
    if len(set(codes)) != len(codes):
        raise Invalid("事项编码重复 (duplicate codes)")

    def run(db, out):
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        now = hall.now_iso()
        for m in checked:
            rows = list(db.query("SELECT * FROM county_matters WHERE code = ?", [m["code"]]))
            stored = {
                **m,
                "levels": json.dumps(m["levels"], ensure_ascii=False),
                "materials": json.dumps(m["materials"], ensure_ascii=False),
            }
            if not rows:
                db["county_matters"].insert(
                    {**stored, "version": 1, "active": 1, "updated_at": now}
                )
                counts["added"] += 1
                continue
            old = dict(rows[0])
            if all(old[k] == stored[k] for k in FIELDS) and old["active"]:
                counts["unchanged"] += 1
                continue
            db["county_matters"].update(
                m["code"], {**stored, "version": old["version"] + 1, "active": 1, "updated_at": now}
            )
            counts["changed"] += 1
        hall.engine.audit(db, actor, "catalogue_save", "catalogue", **counts)
        return counts

    return hall.engine.write(run)


def load_file(path: str) -> list[dict]:
    """[[matters]] tables of a TOML file, or a JSON list (or {"matters": [...]})."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".json"):
        data = json.loads(raw)
    else:
        data = tomllib.loads(raw.decode("utf-8"))
    if isinstance(data, dict):
        data = data.get("matters", [])
    if not isinstance(data, list):
        raise Invalid("文件中没有事项列表 (no list of matters)")
    return data


def centre_matters(db, level: str | None = None) -> list[dict]:
    out = [
        row_json(dict(r))
        for r in db.query("SELECT * FROM county_matters WHERE active = 1 ORDER BY code")
    ]
    if level:
        out = [m for m in out if level in m["levels"]]
    return out


def etag_of(matters: list[dict]) -> str:
    text = json.dumps(matters, ensure_ascii=False, sort_keys=True)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def store_site_copy(hall, matters: list[dict], etag: str | None) -> None:
    """A site keeps the centre's catalogue as it came (one transaction)."""
    checked = []
    for m in matters:
        try:
            checked.append({**check_matter(m), "version": int(m.get("version") or 1)})
        except (Invalid, TypeError, ValueError):
            continue  # one broken matter must not lose the others

    def run(db, out):
        db.execute("DELETE FROM county_catalogue")
        for m in checked:
            db["county_catalogue"].insert(
                {
                    "code": m["code"],
                    "data": json.dumps(m, ensure_ascii=False),
                    "version": m["version"],
                }
            )
        set_cursor(db, "catalogue_etag", etag or "")

    hall.engine.write(run)


class Catalogue:
    """The "matters" interface: the catalogue this hall sees (its own when it is the
    centre, else the copy fetched from the centre) and what each service offers."""

    def __init__(self, hall):
        self.hall = hall

    def _db(self):
        return self.hall.store.db()

    def get(self, code: str | None) -> dict | None:
        if not code:
            return None
        db = self._db()
        rows = list(db.query("SELECT * FROM county_matters WHERE code = ? AND active = 1", [code]))
        if rows:
            return row_json(dict(rows[0]))
        rows = list(db.query("SELECT data FROM county_catalogue WHERE code = ?", [code]))
        return json.loads(rows[0]["data"]) if rows else None

    def all(self) -> list[dict]:
        db = self._db()
        own = centre_matters(db)
        if own:
            return own
        return [
            json.loads(r["data"])
            for r in db.query("SELECT data FROM county_catalogue ORDER BY code")
        ]

    def offered(self, service: str) -> list[dict]:
        """The matters the hall offers under a service ([county] offer), as the
        catalogue has them; codes the catalogue does not (yet) have are left out."""
        codes = self.hall.cfg.sections["county"]["offer"].get(service, [])
        return [m for m in (self.get(c) for c in codes) if m]

    def find(self, service: str, value: str | None) -> dict | None:
        """The offered matter a kiosk's choice names (its code, or its name)."""
        if not value:
            return None
        for m in self.offered(service):
            if value in (m["code"], m["name"]):
                return m
        return None

    def of_ticket(self, ticket_id: int) -> dict | None:
        from .province import ticket_matter

        code, case = ticket_matter(self._db(), ticket_id)
        m = self.get(code)
        if m is None:
            return None
        return {**m, "case_no": case}

    def record(self, ticket_id: int, code: str) -> None:
        """The citizen's choice at the kiosk, for the ticket (after its commit)."""

        def run(db, out):
            db.execute(
                "INSERT OR IGNORE INTO county_ticket_matters (ticket_id, matter, at) VALUES (?, ?, ?)",
                [ticket_id, code, self.hall.now_iso()],
            )

        self.hall.engine.write(run)
