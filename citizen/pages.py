"""Kiosk-side pages of the citizen face (blueprint "citizen")."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "citizen",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/citizen/static",
)
