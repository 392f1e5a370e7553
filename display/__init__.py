"""The display face (pages and their Socket.IO clients)."""

from flask import Blueprint

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates", static_folder="static")
