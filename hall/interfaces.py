"""Interfaces one face publishes for others (FaceRegistry.provide / .interface).

A face that needs another face's service asks the core for it by name and gets None
when no installed face provides it; it never imports the other face. Each interface
is written down here, so a provider and its users agree on one shape.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

#: Interface names.
PRINTERS = "printers"


@runtime_checkable
class Printers(Protocol):
    """The hall's ticket printers (provided by the kiosk face): a mapping of print
    service name ("default" for [printer], else a kiosk id) to a printer.PrintService.

    statuses(): one entry per printer, as GET /api/printers answers them:
    {kiosk, name, driver, status, status_name, last_error, checked_at, paper_low}.
    label(name): the printer's name for people (the kiosk's name, 默认打印机)."""

    def __getitem__(self, name: str): ...

    def __iter__(self): ...

    def __contains__(self, name: object) -> bool: ...

    def statuses(self) -> list[dict]: ...

    def label(self, name: str) -> str: ...
