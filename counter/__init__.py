"""The counter face: the clerk's console (/counter), the guide desk (/counter/guide), the
好差评 rating pad (/counter/pad/<window>, paired devices only) and its pairing page for
supervisors (/counter/pads), with their API and the /counter and /pad Socket.IO
namespaces. See docs/counter.md."""

from hall.face import Face

from .schema import m030_counter_pad_devices
from .settings import SETTINGS

FACE = Face(
    name="counter",
    summary="clerk console, guide desk, rating pad",
    blueprints=("counter.pages:bp", "counter.api:bp", "counter.pads_pages:bp"),
    namespaces=("counter.namespaces:CounterNamespace", "counter.namespaces:PadNamespace"),
    settings=SETTINGS,
    migrations=(m030_counter_pad_devices,),
    setup="counter.pairing:setup",
    subscribers=("counter.pad:schedule_sweeps",),
    routes=("counter.pad:routes",),
    openapi="counter.openapi:PART",
)
