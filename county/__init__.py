"""The county face: the county network (县/乡/村) and the provincial 好差评.

A hall installs it with `[hall] faces = ["county"]` (it is in hall.face.OPTIONAL, not
INSTALLED: a hall outside a county network needs none of it). The same package serves
every role, by config:

- a site ships its records to the centre (shipper.py, capture.py), fetches the
  catalogue (catalogue.py) and shows its link on the supervisor board (interface
  "county_link", event `county_link`);
- the centre registers sites (`python -m hall site ...`), receives their batches
  (centre.py) into one copy per site (replica.py), and shows /county: every site live,
  rankings, every 差评, month exports (figures.py, pages.py);
- a village point records walk-ins (village.py, hall/engine/walkins.py);
- ratings go to the province through an adapter (province.py).

See docs/county.md.
"""

from hall.face import Command, Face

from .schema import m030_county
from .settings import SETTINGS, check_config

FACE = Face(
    name="county",
    summary="county network: sites and centre, catalogue, village points, provincial 好差评",
    blueprints=("county.api:bp", "county.pages:bp"),
    namespaces=("county.namespaces:CountyNamespace",),
    settings=SETTINGS,
    check_config=check_config,
    migrations=(m030_county,),
    commands=(
        Command(
            "site",
            "register and manage county sites (centre)",
            "county.cli:configure_site",
            "county.cli:run_site",
        ),
        Command(
            "catalogue",
            "load or list the county's catalogue of matters (centre)",
            "county.cli:configure_catalogue",
            "county.cli:run_catalogue",
        ),
        Command(
            "county-demo",
            "a county centre and three sites on loopback, past days seeded, shipping live",
            "county.demo:configure",
            "county.demo:run",
        ),
    ),
    issue_hooks=("county.namespaces:issue_hook",),
    subscribers=("county.namespaces:wake_shipper",),
    routes=("county.namespaces:routes",),
    provides={"matters": "county.state:matters", "county_link": "county.state:county_link"},
    setup="county.state:setup",
    openapi="county.openapi:PART",
)
