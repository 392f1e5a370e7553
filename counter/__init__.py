"""The counter face: the clerk's console (/counter), the guide desk (/counter/guide) and
the 好差评 rating pad (/counter/pad/<window>), with their API and the /counter and /pad
Socket.IO namespaces. See docs/counter.md."""

from hall.face import Face

from .settings import SETTINGS

FACE = Face(
    name="counter",
    summary="clerk console, guide desk, rating pad",
    blueprints=("counter.pages:bp", "counter.api:bp"),
    namespaces=("counter.namespaces:CounterNamespace", "counter.namespaces:PadNamespace"),
    settings=SETTINGS,
    subscribers=("counter.pad:schedule_sweeps",),
    routes=("counter.pad:routes",),
    openapi="counter.openapi:PART",
)
