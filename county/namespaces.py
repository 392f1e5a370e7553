"""/county: the county page's live rows (supervisors and admins of the centre).

On connect: `snapshot` {sites: [row, ...]}; then `site` (one row) whenever a site's
records arrive or its link goes up or down (CountySiteUpdated, through the
broadcaster like every message)."""

from __future__ import annotations

from flask_socketio import emit

from hall import events as ev
from hall.realtime import Message, StaffNamespace
from hall.vocabulary import MANAGER_ROLES

from .state import CountySiteUpdated, state_of


class CountyNamespace(StaffNamespace):
    path = "/county"
    roles = MANAGER_ROLES
    topics = {}

    def connected(self, hall, auth=None) -> None:
        emit("snapshot", {"sites": state_of(hall).overview.all_rows()})


def routes(hall):
    def messages(event):
        if isinstance(event, CountySiteUpdated):
            return [Message("/county", "site", event.row, key=("county_site", event.site))]
        return []

    return messages


def wake_shipper(hall):
    """Ship soon after anything happens at the site (the round would come anyway)."""

    def on_event(event):
        if isinstance(event, (ev.TicketEvent, ev.WindowChanged)):
            st = state_of(hall)
            if st is not None and st.shipper.enabled:
                st.shipper.wake()

    return on_event


def issue_hook(hall):
    """The matter chosen at the kiosk (the kiosk's `matter` option, a code or a name of
    a catalogue matter the service offers) is kept for the ticket: the centre and the
    province get it. Adds `matter_code` to the answer."""

    def hook(ctx):
        value = ctx.options.get("matter")
        if not value:
            return None
        st = state_of(hall)
        m = st.catalogue.find(ctx.ticket["service"], value)
        if m is None:
            return None
        st.catalogue.record(ctx.ticket["id"], m["code"])
        return {"matter_code": m["code"]}

    return hook
