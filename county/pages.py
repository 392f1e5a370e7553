"""County pages (blueprint "county", /county): filled in on the shared front-end base."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "county", __name__, url_prefix="/county", template_folder="templates", static_folder="static"
)
