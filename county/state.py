"""The county face's state (hall.faces.state("county")) and its background threads.

Every hall with the face runs the same parts; which of them work depends on its config
and its register:

- a site ([county] centre_url and site_id set): the Shipper;
- the centre (sites registered with `site add`): Reception of batches into the sites'
  copies (Replicas), the overview refresher that keeps the /county page live, the day
  cache behind the rankings;
- the sender of ratings to the province ([province] adapter not "none"): on the centre,
  fed from the copies; on a site without a centre, from its own ratings.

The threads start at the first request of the serving process (a thread does not
survive gunicorn's fork), never under TESTING unless app.config["COUNTY_THREADS"].
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import date

from hall.background import Periodic
from hall.events import Event

from . import centre, province
from .catalogue import Catalogue
from .figures import DayCache, overview_row
from .replica import Replicas
from .shipper import Shipper

log = logging.getLogger(__name__)

REFRESH_MIN_SECONDS = 1.0  # a site's row is rebuilt at most this often
LINK_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class CountySiteUpdated(Event):
    """A site's overview row changed (records arrived, or its link went up or down)."""

    NAME = "county_site"
    site: str
    row: dict = field(default_factory=dict)


class Overview:
    """Rebuilds the overview rows of sites whose records arrived (at most once a second
    each) and notices links going down; publishes CountySiteUpdated."""

    def __init__(self, state):
        self.state = state
        self.rows: dict[str, dict] = {}
        self._dirty: set[str] = set()
        self._warm: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._warmed = False
        self.prewarming = False
        self.need_prewarm = False
        self._last_links = 0.0
        self.thread = Periodic("county-overview", REFRESH_MIN_SECONDS, self._work)

    def mark(self, site_id: str, days=()) -> None:
        with self._lock:
            self._dirty.add(site_id)
            self._warm.update((site_id, d) for d in days if d != "*")
            if days:
                self.need_prewarm = True
        self.thread.wake()

    def warm(self, limit: int = 200) -> int:
        """Compute the ranking's summaries of days that records changed (DayCache), so
        a ranking asked later finds them ready. Returns how many are left."""
        with self._lock:
            todo = sorted(self._warm)[:limit]
            self._warm -= set(todo)
        by_site: dict[str, list] = {}
        for site_id, d in todo:
            by_site.setdefault(site_id, []).append(date.fromisoformat(d))
        for site in self.state.sites():
            if site["id"] in by_site:
                self.state.days.get(self.state, site, by_site[site["id"]])
        with self._lock:
            return len(self._warm)

    def row(self, site: dict) -> dict:
        r = self.rows.get(site["id"])
        if r is None:
            r = self.rows[site["id"]] = overview_row(self.state, site)
        return r

    def all_rows(self) -> list[dict]:
        return [self.row(s) for s in self.state.sites()]

    def refresh(self, site_ids=None) -> list[dict]:
        """Rebuild rows now (the given sites, or the dirty ones) and publish them."""
        with self._lock:
            ids = set(site_ids) if site_ids is not None else set(self._dirty)
            self._dirty -= ids
        out = []
        for site in self.state.sites():
            if site["id"] not in ids:
                continue
            row = overview_row(self.state, site)
            self.rows[site["id"]] = row
            out.append(row)
            self._publish(row)
        return out

    def check_links(self) -> None:
        """A site that stopped calling turns offline with nobody shipping anything."""
        from .figures import link_state

        for site in self.state.sites():
            old = self.rows.get(site["id"])
            if old is None:
                continue
            link = link_state(self.state.hall, site)
            if link["link"] != old["link"]:
                self.refresh([site["id"]])

    def _publish(self, row: dict) -> None:
        hall = self.state.hall
        hall.bus.publish(
            CountySiteUpdated(
                at=hall.engine.read.local_iso(hall.now_iso()), site=row["id"], row=row
            )
        )

    def prewarm(self) -> None:
        """This month's and last month's summaries of every site, read from the copies
        (or computed): at start, and after records arrived, so a ranking asked is
        answered from memory."""
        from datetime import timedelta

        from .figures import days_of

        hall = self.state.hall
        today = hall.hours.local(hall.clock.now()).date()
        start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        self.prewarming = True
        try:
            for site in self.state.sites():
                self.state.days.get(self.state, site, days_of(start, today))
        finally:
            self.prewarming = False

    def _work(self) -> None:
        import time

        if not self._warmed:
            self._warmed = True
            try:
                self.prewarm()
            except Exception:
                log.exception("county: warming the ranking's summaries failed")
        self.refresh()
        if time.monotonic() - self._last_links >= LINK_CHECK_SECONDS:
            self._last_links = time.monotonic()
            self.check_links()
        while self.warm() and not self._dirty:
            pass  # rows first: a busy centre warms between refreshes
        with self._lock:
            again = self.need_prewarm and not self._warm
            if again:  # days without records too (weekends): all in memory
                self.prewarming, self.need_prewarm = True, False
        if again:
            self.prewarm()


class CountyState:
    def __init__(self, app, hall):
        self.hall = hall
        cfg = hall.cfg.sections["county"]
        folder = cfg["replicas_dir"] or os.path.join(app.config["HALL_INSTANCE"], "county")
        if hall.store.path != ":memory:" and not cfg["replicas_dir"]:
            base = os.path.splitext(os.path.basename(hall.store.path))[0]
            folder = os.path.join(
                os.path.dirname(os.path.abspath(hall.store.path)), f"{base}-county"
            )
        self.replicas = Replicas(folder, hall.faces.migrations())
        self.catalogue = Catalogue(hall)
        self.shipper = Shipper(hall)
        self.days = DayCache()
        self._departments: dict[str, list[str]] = {}
        self._sites_checked = -1e9
        self.overview = Overview(self)
        self.reception = centre.Reception(hall, self.replicas, self._applied)
        adapter = province.make_adapter(hall.cfg)
        # Ratings to the province (never where a centre takes them: check_config): this
        # hall's own, and those of the sites registered here.
        self.sender = province.Sender(hall, adapter, self.feed) if adapter is not None else None

    # --- the register ---------------------------------------------------------------------
    def sites(self) -> list[dict]:
        return centre.sites(self.hall)

    def site(self, site_id: str) -> dict | None:
        return centre.get_site(self.hall.store.db(), site_id)

    def status(self) -> dict:
        """How the centre stands: sites, the ranking's cache, work still to do."""
        with self.overview._lock:
            warming, dirty = len(self.overview._warm), len(self.overview._dirty)
        warming += int(self.overview.prewarming or self.overview.need_prewarm)
        return {
            "sites": len(self.sites()),
            "cached_days": len(self.days),
            "computed_days": self.days.computed,
            "warming": warming,
            "dirty_rows": dirty,
        }

    def departments(self, site: dict) -> list[str]:
        """The departments of a site's active services (from its copy; kept until its
        services change)."""
        got = self._departments.get(site["id"])
        if got is None:
            if not self.replicas.exists(site["id"]):
                return []
            with self.replicas.read(site["id"]) as db:
                got = [
                    r["department"]
                    for r in db.query("SELECT DISTINCT department FROM services WHERE active = 1")
                ]
            self._departments[site["id"]] = got
        return got

    # --- after a batch ----------------------------------------------------------------------
    def _applied(self, site: dict, fresh: list[dict], days: set[str]) -> None:
        if "*" in days:
            self.days.drop_site(site["id"])
            self._departments.pop(site["id"], None)
        else:
            self.days.touch(site["id"], days)
        self.overview.mark(site["id"], days)
        if self.sender is not None and any(
            r["t"] in ("ratings", "rating_followups") for r in fresh
        ):
            province.feed_site(self, site)
            self.sender.wake()

    def feed(self) -> int:
        return province.feed_local(self.hall, self.catalogue.get) + self.feed_all()

    def feed_all(self) -> int:
        n = 0
        for site in self.sites():
            if self.replicas.exists(site["id"]):
                n += province.feed_site(self, site)
        return n

    # --- threads ------------------------------------------------------------------------------
    def start(self) -> None:
        self.shipper.ensure_running()
        if self.sender is not None:
            self.sender.ensure_running()
        # The centre's thread, once it has sites (asked again until it has: a site
        # registered while serving is picked up at the next request).
        import time

        if self.overview.thread.running:
            return
        if time.monotonic() - self._sites_checked >= 10:
            self._sites_checked = time.monotonic()
            if self.sites():
                self.overview.thread.ensure_running()

    def stop(self) -> None:
        self.shipper.stop()
        if self.sender is not None:
            self.sender.stop()
        self.overview.thread.stop()


def setup(app, hall) -> CountyState:
    state = CountyState(app, hall)
    enabled = app.config.get("COUNTY_THREADS")
    if enabled is None:
        enabled = not app.testing
    if enabled:

        @app.before_request
        def _start_county():
            # Here, not at create_app: `serve` builds the app before gunicorn forks.
            state.start()

    return state


def state_of(hall) -> CountyState:
    return hall.faces.state("county")


def matters(app, hall) -> Catalogue:
    """The "matters" interface (provided before setup runs)."""
    return Catalogue(hall)


class _Link:
    def __init__(self, hall):
        self.hall = hall

    def status(self) -> dict | None:
        st = state_of(self.hall)
        return st.shipper.status() if st is not None and st.shipper.enabled else None


def county_link(app, hall) -> _Link:
    """The "county_link" interface: the site's link to its centre, or None (no centre)."""
    return _Link(hall)
