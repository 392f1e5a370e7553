"""The county face's settings: [county] (a site's link to its county centre, and the
centre's own rules) and [province] (the provincial 好差评 platform)."""

from __future__ import annotations

import re

from hall.config import ConfigError
from hall.settings import Setting

_s = Setting

SITE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
ADAPTERS = ("none", "http-json")

SETTINGS = (
    # [county] on a site: where it ships, and who it is
    _s(
        "county",
        "centre_url",
        "",
        "The county centre's address (http(s)://host:port); empty: this hall ships nothing.",
    ),
    _s("county", "site_id", "", "This site's id, as registered at the centre (`site add`)."),
    _s(
        "county",
        "key_env",
        "HALL_COUNTY_KEY",
        "Environment variable that holds this site's key (never put the key in a file).",
    ),
    _s("county", "ship_interval_seconds", 2.0, "How often new records are gathered and shipped."),
    _s("county", "batch_size", 500, "Records per batch sent to the centre."),
    _s(
        "county",
        "heartbeat_seconds",
        30.0,
        "With nothing to ship, the site still tells the centre it is alive this often.",
    ),
    _s(
        "county",
        "max_backoff_seconds",
        300.0,
        "Longest wait between tries while the centre is unreachable (doubling from 1 s).",
    ),
    _s("county", "timeout_seconds", 10.0, "HTTP timeout of one request to the centre."),
    _s(
        "county",
        "catalogue_refresh_seconds",
        300.0,
        "How often the site asks the centre for the catalogue (conditional request).",
    ),
    _s(
        "county",
        "offer",
        {},
        'Catalogue matters this site offers, per service: {SB = ["340722-SB-001", ...]}.',
    ),
    _s(
        "county",
        "point_service",
        "",
        "Village point: the service its walk-ins are recorded under (empty: the first).",
    ),
    # [county] on the centre
    _s(
        "county",
        "clock_skew_seconds",
        300,
        "Centre: a batch's timestamp may be this far from the centre's clock (replay window).",
    ),
    _s(
        "county",
        "offline_after_seconds",
        90,
        "Centre: a site not heard from for this long shows as offline.",
    ),
    _s(
        "county",
        "key_grace_hours",
        24.0,
        "Centre: after `site rotate` the old key is still accepted this long.",
    ),
    _s(
        "county",
        "replicas_dir",
        "",
        "Centre: folder of the sites' copies (one SQLite file each); empty: county/ beside the database.",
    ),
    # [province] the provincial 好差评 platform
    _s(
        "province",
        "adapter",
        "none",
        'How ratings reach the province: "none" | "http-json" (sent by the centre, or by a '
        "site without a centre).",
    ),
    _s("province", "url", "", "http-json: the platform's endpoint (POST, one rating per request)."),
    _s(
        "province",
        "credentials_env",
        "HALL_PROVINCE_TOKEN",
        "Environment variable with the platform's credential (sent as a Bearer token).",
    ),
    _s("province", "region", "", "行政区划代码 sent with every rating, e.g. 340722."),
    _s("province", "timeout_seconds", 10.0, "HTTP timeout of one delivery."),
    _s("province", "interval_seconds", 5.0, "How often pending ratings are sent."),
    _s(
        "province",
        "max_attempts",
        10,
        "Tries before a rating waits for a supervisor's 重试 (retry by hand).",
    ),
    _s("province", "max_backoff_seconds", 3600.0, "Longest wait between two tries of one rating."),
    _s(
        "province",
        "reason_map",
        {},
        "Hall 差评 reasons -> national categories (GB/T 39734), over the built-in mapping.",
    ),
)


def check_config(cfg) -> None:
    county, province = cfg.sections["county"], cfg.sections["province"]
    if county["site_id"] and not SITE_ID.fullmatch(county["site_id"]):
        raise ConfigError(
            "county.site_id: lowercase letters, digits and '-', at most 32 (e.g. 'xiang-01')"
        )
    url = county["centre_url"]
    if url and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise ConfigError(f"county.centre_url: {url!r} is not an http(s) address")
    if url and not county["site_id"]:
        raise ConfigError("county.site_id: required when county.centre_url is set")
    codes = {s["code"] for s in cfg.services}
    for service, matters in county["offer"].items():
        if service not in codes:
            raise ConfigError(f"county.offer: unknown service code {service!r}")
        if not isinstance(matters, list) or not all(isinstance(m, str) for m in matters):
            raise ConfigError(f"county.offer.{service}: expected a list of matter codes")
    if county["point_service"] and county["point_service"] not in codes:
        raise ConfigError(f"county.point_service: unknown service code {county['point_service']!r}")
    if province["adapter"] not in ADAPTERS:
        raise ConfigError(f"province.adapter: one of {', '.join(ADAPTERS)}")
    if province["adapter"] == "http-json" and not re.fullmatch(r"https?://\S+", province["url"]):
        raise ConfigError("province.url: required (http(s)://...) for the http-json adapter")
    if province["adapter"] != "none" and url:
        raise ConfigError(
            "province.adapter: a site that ships to a centre leaves the province to the centre "
            '(set adapter = "none" here and configure it on the centre)'
        )
    for reason, category in province["reason_map"].items():
        from .province import CATEGORIES

        if category not in CATEGORIES:
            raise ConfigError(
                f"province.reason_map.{reason}: {category!r} is not a national category "
                f"({'、'.join(CATEGORIES)})"
            )
    for key in ("ship_interval_seconds", "heartbeat_seconds", "timeout_seconds"):
        if county[key] <= 0:
            raise ConfigError(f"county.{key}: must be above 0")
    if county["batch_size"] < 1 or county["batch_size"] > 5000:
        raise ConfigError("county.batch_size: between 1 and 5000")
