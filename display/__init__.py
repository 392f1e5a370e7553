"""The display face: the hall's big screens and the small screens above each window.

    /display                      hall display (1920x1080)
    /display?services=BDC,SB      zone display: only those services' calls and queues
    /display?zone=<name>          a zone named in [display] zones
    /display?layout=calls|windows other layouts; ?group=department; ?voice=0
    /display/window/<n>           the screen above window n
    Socket.IO /display            snapshot on (re)connect, called, queue, window

Pages are rendered on the server from the same public snapshot the namespace sends
(hall.snapshots.public_snapshot); display.js keeps them live. See docs/display.md.
"""

from hall.face import Face

from .settings import SETTINGS, check_config

FACE = Face(
    name="display",
    summary="hall and window displays",
    blueprints=("display.pages:bp",),
    namespaces=("display.namespaces:DisplayNamespace",),
    settings=SETTINGS,
    check_config=check_config,
)
