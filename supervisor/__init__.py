"""The supervisor face (pages and their Socket.IO clients)."""

from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor", template_folder="templates", static_folder="static")
