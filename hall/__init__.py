"""hall: queueing and window management for government service halls."""

from .app import create_app

__all__ = ["create_app"]
