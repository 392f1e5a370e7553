"""The citizen face's part of /api/openapi.json."""

from __future__ import annotations

PART = {"paths": {}, "schemas": {}}
