"""Requests between a site and its county centre are signed with the site's key.

    X-County-Site: xiang-01
    X-County-Timestamp: 1796000000            (Unix seconds)
    X-County-Signature: v1=<hex HMAC-SHA256>

The signature covers the method, the path (with its query), the site, the timestamp
and the SHA-256 of the body, so a batch altered in transit, sent to another path, or
claimed for another site does not verify. The centre refuses a timestamp further than
[county] clock_skew_seconds from its own clock: a recorded request cannot be replayed
later (within the window a replayed batch changes nothing: the centre has it).
Standard library hmac; keys are 256-bit random, shown once by `site add|rotate`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SITE = "X-County-Site"
TIMESTAMP = "X-County-Timestamp"
SIGNATURE = "X-County-Signature"
VERSION = "v1"


def new_key() -> str:
    return secrets.token_urlsafe(32)


def fingerprint(key: str) -> str:
    """What `site list` shows of a key: enough to tell two keys apart, not to use one."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _message(method: str, path: str, site: str, timestamp: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body or b"").hexdigest()
    return "\n".join([method.upper(), path, site, timestamp, digest]).encode()


def sign(key: str, method: str, path: str, site: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key.encode(), _message(method, path, site, str(timestamp), body), "sha256")
    return f"{VERSION}={mac.hexdigest()}"


def headers(key: str, method: str, path: str, site: str, timestamp: int, body: bytes) -> dict:
    return {
        SITE: site,
        TIMESTAMP: str(timestamp),
        SIGNATURE: sign(key, method, path, site, timestamp, body),
    }


def verify(
    key: str, method: str, path: str, site: str, timestamp: str, body: bytes, sig: str
) -> bool:
    expected = sign(key, method, path, site, int(timestamp), body)
    return hmac.compare_digest(expected.encode(), (sig or "").encode())
