"""/m: taking a number from a phone (blueprint "citizen_mobile")."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("citizen_mobile", __name__, template_folder="templates")
