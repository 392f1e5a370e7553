"""The contract between the core (`hall/`) and the faces (kiosk, display, counter, ...).

A face is a package that declares, in one `FACE = Face(...)` in its `__init__.py`,
everything it adds to a hall. The core reads these declarations and nothing else of a
face: it never imports a face's modules by name, and a face reaches another face only
through the core's events (`hall.events`) or a published interface (`hall.interfaces`).
See docs/architecture.md for the walk-through.

Heavy parts (blueprints, namespaces, hooks) are named as "module:attribute" strings, so
reading a declaration imports nothing but the face's settings and migrations: the
config loader needs every face's settings before an app exists.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .settings import Setting

log = logging.getLogger(__name__)

#: The faces a hall runs, in the order they are set up. A test may add its own faces
#: through create_app({"FACES": [...]}).
INSTALLED = ("kiosk", "display", "counter", "supervisor", "appointments", "citizen")

#: Faces that ship with the hall but run only where a hall's config names them in
#: `[hall] faces` (their settings are documented with the rest). `county` (the county
#: network: shipping to a county centre, the centre's pages, the catalogue, village
#: points, the provincial 好差评 adapter) is one: a hall outside a county network
#: needs none of its tables, routes or background threads (docs/county.md).
OPTIONAL = ("county",)

Ref = str | Callable[..., Any]  # "module:attribute", or the object itself


def resolve(ref: Ref) -> Any:
    """The object a "module:attribute" string names (or the object given)."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Command:
    """A `python -m hall NAME` subcommand. configure(parser) adds its arguments;
    run(args) -> exit status. `hall.cli.make_app(args)` builds the app it needs."""

    name: str
    help: str
    configure: Ref
    run: Ref


@dataclass(frozen=True)
class IssueOption:
    """A field a face reads from the body of POST /api/tickets (e.g. the kiosk face's
    `print` and `matter`). The core validates it with the rest of the body and hands
    the value to every issue hook in IssueContext.options; it never uses it itself."""

    name: str
    kind: type  # bool | str | int
    max_len: int | None = None
    help: str = ""


@dataclass
class IssueContext:
    """What an issue hook gets, after the ticket's transaction has committed.

    ticket: the stored row; body: the answer being built (with the token: never log
    it); kiosk: the kiosk id the ticket was taken at, if any; options: the IssueOption
    values the request gave (absent when not given); source: kiosk | staff | appointment.
    A hook returns fields to add to the answer (or None)."""

    ticket: dict
    body: dict
    kiosk: str | None = None
    options: dict = field(default_factory=dict)
    source: str = "kiosk"


IssueHook = Callable[[IssueContext], "dict | None"]


@dataclass(frozen=True)
class PersonalData:
    """A column where a face keeps a citizen's personal data, and how it is reduced once
    [privacy] retention_days have passed since the row's `since` column (a time or a
    YYYY-MM-DD day; rows dated before the cut-off day are reduced).

    reduce: "module:fn" fn(value) -> the value kept (a masked form, "" to erase; it must
    give the same again when applied twice), or None to erase (set to ""). Figures must
    not read the column: `python -m hall purge` and the server's daily run
    (hall/privacy.py) reduce it in place and nothing else changes."""

    table: str
    column: str
    since: str
    reduce: Ref | None = None
    help: str = ""


@dataclass(frozen=True)
class Face:
    """What a face adds to a hall. Every field is optional but the name.

    blueprints   "module:bp" Flask blueprints, registered in order.
    namespaces   "module:Class" hall.realtime.FaceNamespace subclasses (one per path).
    settings     Setting entries (hall.settings.Setting) of the face's config sections.
    migrations   sqlite-utils migration functions, applied after the core's, by name
                 (never rename one that has shipped).
    commands     Command entries for `python -m hall`.
    issue_options  fields of POST /api/tickets that the face's issue hooks read.
    issue_hooks  "module:factory" factory(hall) -> hook(IssueContext) -> dict | None.
    subscribers  "module:factory" factory(hall) -> fn(event): domain-event subscribers.
    routes       "module:factory" factory(hall) -> fn(event) -> iterable of
                 hall.realtime.Message: the face's own Socket.IO messages, sent by the
                 broadcaster in event order like every other message.
    provides     interface name -> "module:factory" factory(app, hall): an object other
                 faces may use through hall.faces.interface(name) (see hall.interfaces).
    figures      key -> "module:fn" fn(hall, start, end) -> dict: added to /api/stats.
    openapi      "module:attr" -> {"paths": {...}, "schemas": {...}} for /api/openapi.json.
    check_config "module:fn" fn(cfg): raise hall.config.ConfigError on a bad value.
    setup        "module:fn" fn(app, hall) -> state | None, run after `provides` and
                 before the rest; what it returns is the face's state,
                 hall.faces.state(name) (factories above may read it).
    demo         "module:fn" fn(hall): demo data for `python -m hall demo`.
    personal_data  PersonalData entries: citizens' personal data the face keeps, erased
                 or masked after [privacy] retention_days (hall/privacy.py).
    """

    name: str
    summary: str = ""
    blueprints: tuple[Ref, ...] = ()
    namespaces: tuple[Ref, ...] = ()
    settings: tuple[Setting, ...] = ()
    migrations: tuple[Callable, ...] = ()
    commands: tuple[Command, ...] = ()
    issue_options: tuple[IssueOption, ...] = ()
    issue_hooks: tuple[Ref, ...] = ()
    subscribers: tuple[Ref, ...] = ()
    routes: tuple[Ref, ...] = ()
    provides: dict[str, Ref] = field(default_factory=dict)
    figures: dict[str, Ref] = field(default_factory=dict)
    openapi: Ref | None = None
    check_config: Ref | None = None
    setup: Ref | None = None
    demo: Ref | None = None
    personal_data: tuple[PersonalData, ...] = ()


_declared: dict[str, Face] = {}


def declared() -> list[Face]:
    """Every face whose declaration this process has read (the config loader runs their
    check_config)."""
    return list(_declared.values())


def declaration(package: str) -> Face:
    """The FACE declared by a face package."""
    module = importlib.import_module(package)
    face = getattr(module, "FACE", None)
    if not isinstance(face, Face):
        raise TypeError(f"face package {package!r} declares no FACE = Face(...)")
    return face


def declarations(names: Iterable[str] | None = None) -> list[Face]:
    """The declarations of the installed faces (or of `names`), registering their
    settings with the settings registry on the way."""
    from . import settings

    packages = tuple(INSTALLED if names is None else names)
    faces = [declaration(n) for n in packages]
    seen: set[str] = set()
    for package, face in zip(packages, faces, strict=True):
        if face.name in seen:
            raise ValueError(f"face {face.name!r} installed twice")
        seen.add(face.name)
        for s in face.settings:
            settings.register(s, owner=package)
        _declared.setdefault(face.name, face)
    return faces


class FaceRegistry:
    """The faces of one app: their declarations, states and published interfaces."""

    def __init__(self, faces: list[Face]):
        self.faces = list(faces)
        self._state: dict[str, Any] = {}
        self._interfaces: dict[str, list[Any]] = {}
        self._issue_hooks: list[tuple[str, IssueHook]] = []

    def __iter__(self):
        return iter(self.faces)

    def names(self) -> list[str]:
        return [f.name for f in self.faces]

    def installed(self, name: str) -> bool:
        return name in self.names()

    # --- state and interfaces -------------------------------------------------------
    def state(self, name: str) -> Any:
        """What the face's setup returned (None when it has none or is not installed)."""
        return self._state.get(name)

    def interface(self, name: str) -> Any:
        """A published interface (hall.interfaces), or None when no face provides it
        (for one several faces provide, hall.interfaces.MULTI, the first face's)."""
        providers = self._interfaces.get(name)
        return providers[0] if providers else None

    def interfaces(self, name: str) -> list[Any]:
        """Every provider of an interface, in face order (at most one unless the
        interface is in hall.interfaces.MULTI)."""
        return list(self._interfaces.get(name, ()))

    def provide(self, name: str, obj: Any) -> None:
        from .interfaces import MULTI

        if name in self._interfaces and name not in MULTI:
            raise ValueError(f"interface {name!r} provided twice")
        self._interfaces.setdefault(name, []).append(obj)

    # --- issue hooks ----------------------------------------------------------------
    def issue_options(self) -> list[IssueOption]:
        return [o for f in self.faces for o in f.issue_options]

    def add_issue_hook(self, face: str, hook: IssueHook) -> None:
        self._issue_hooks.append((face, hook))

    def run_issue_hooks(self, ctx: IssueContext) -> dict:
        """Every face's issue hook, in order, after the commit. A hook that fails is
        logged and skipped: the ticket stands as issued, the other hooks still run."""
        for face, hook in self._issue_hooks:
            try:
                extra = hook(ctx)
            except Exception:
                log.exception(
                    "issue hook of face %s failed for ticket id %s", face, ctx.ticket["id"]
                )
                continue
            if extra:
                ctx.body.update(extra)
        return ctx.body

    # --- collected declarations -----------------------------------------------------
    def migrations(self) -> list[Callable]:
        return [m for f in self.faces for m in f.migrations]

    def commands(self) -> list[Command]:
        return [c for f in self.faces for c in f.commands]

    def figures(self) -> list[tuple[str, Callable]]:
        return [(key, resolve(ref)) for f in self.faces for key, ref in f.figures.items()]

    def personal_data(self) -> list[tuple[str, PersonalData]]:
        return [(f.name, p) for f in self.faces for p in f.personal_data]

    def openapi_parts(self) -> list[dict]:
        return [resolve(f.openapi) for f in self.faces if f.openapi is not None]

    def set_state(self, name: str, state: Any) -> None:
        self._state[name] = state
