"""The supervisor face: live hall board, figures, 督查考评 ranking, 好差评 follow-up,
exports, audit search and admin pages (see docs/supervisor.md)."""

from __future__ import annotations


def init_app(app) -> None:
    from .api import bp as api_bp
    from .pages import bp as pages_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(api_bp)
