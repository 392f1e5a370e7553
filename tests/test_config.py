"""Config: the shipped demo hall, validation messages that name the key, documentation."""

from __future__ import annotations

import pytest

from hall import config, settings
from hall.config import ConfigError

from .conftest import ROOT


def base() -> dict:
    return {
        "services": [
            {"code": "SB", "name": "社保", "department": "人社局", "prefix": "B"},
            {"code": "YB", "name": "医保", "department": "医保局", "prefix": "C"},
        ],
        "windows": [{"number": 1, "services": ["SB"], "secondary": ["YB"]}],
    }


def test_shipped_config_is_a_realistic_hall():
    cfg = config.load(ROOT / "config.toml")
    assert len(cfg.services) >= 12
    assert len({s["department"] for s in cfg.services}) >= 8
    assert len(cfg.windows) >= 14
    multi = [w for w in cfg.windows if "综办" in w["name"] and len(w["services"]) >= 3]
    assert len(multi) >= 2
    assert any(w["secondary"] for w in cfg.windows)
    assert any(len(w["services"]) == 1 and not w["secondary"] for w in cfg.windows)
    assert cfg.hall["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize(
    "mutate,key",
    [
        (lambda c: c["windows"][0]["services"].append("NOPE"), "windows[0].services"),
        (lambda c: c["windows"][0]["secondary"].append("NOPE"), "windows[0].secondary"),
        (lambda c: c["services"].append(dict(c["services"][0])), "services[2].code"),
        (lambda c: c["windows"].append({"number": 1, "services": ["SB"]}), "windows[1].number"),
        (lambda c: c.update(hours={"open": "8:30"}), "hours.open"),
        (lambda c: c.update(hours={"open": "25:00"}), "hours.open"),
        (lambda c: c.update(hours={"open": "18:00", "close": "09:00"}), "hours.close"),
        (lambda c: c.update(hours={"days": ["monday"]}), "hours.days"),
        (lambda c: c.update(hours={"holidays": ["2026-13-01"]}), "hours.holidays"),
        (lambda c: c.update(hall={"timezone": "Mars/Base"}), "hall.timezone"),
        (lambda c: c.update(hall={"nmae": "typo"}), "hall.nmae"),
        (lambda c: c.update(queue={"requeue_limit": "one"}), "queue.requeue_limit"),
        (lambda c: c["services"][0].update(prefix="AB"), "services[0].prefix"),
        (lambda c: c["services"][0].pop("name"), "services[0].name"),
        (lambda c: c.update(printer={"driver": "laser"}), "printer.driver"),
        (lambda c: c.update(bogus={}), "[bogus]"),
    ],
)
def test_wrong_config_names_the_key(mutate, key):
    raw = base()
    mutate(raw)
    with pytest.raises(ConfigError) as e:
        config.from_dict(raw)
    assert str(e.value).startswith(key)


def test_broken_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[hall\nname = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(bad)
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "missing.toml")


def test_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("HALL_DATABASE", str(tmp_path / "x.sqlite3"))
    monkeypatch.setenv("HALL_SETTINGS", '{"hours": {"always_open": true}}')
    cfg = config.load(ROOT / "config.toml")
    assert cfg.hall["database"] == str(tmp_path / "x.sqlite3")
    assert cfg.hours["always_open"] is True
    monkeypatch.setenv("HALL_SETTINGS", "{broken")
    with pytest.raises(ConfigError, match="HALL_SETTINGS"):
        config.load(ROOT / "config.toml")


def test_start_up_stops_on_a_wrong_config(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "wrong.toml"
    cfg.write_text(
        '[[services]]\ncode="SB"\nname="社保"\ndepartment="人社局"\nprefix="B"\n'
        '[[windows]]\nnumber=1\nservices=["XX"]\n'
    )
    r = subprocess.run(
        [sys.executable, "-m", "hall", "--config", str(cfg), "init"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HALL_DATABASE": str(tmp_path / "d.db")},
    )
    assert r.returncode == 2
    assert "windows[0].services: unknown service code 'XX'" in r.stderr


def test_secret_key_generated_once_beside_the_database(tmp_path, monkeypatch):
    from hall import create_app

    from .conftest import TEST_CONFIG

    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    db = str(tmp_path / "h.sqlite3")
    a = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": db})
    b = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": db})
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode)[-3:] == "600"
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"] == key_file.read_text().strip()
    monkeypatch.setenv("HALL_SECRET_KEY", "from-the-environment")
    c = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": db})
    assert c.config["SECRET_KEY"] == "from-the-environment"


def test_every_setting_is_documented_in_the_readme():
    """The README's reference is generated from the registry; a new key must land there."""
    block = settings.readme_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert block is not None, "README.md lacks the settings block markers"
    assert block == settings.markdown(), (
        "README config reference is stale: run `python -m hall settings --readme README.md`"
    )
    from hall.face import INSTALLED, OPTIONAL

    for s in settings.SETTINGS:
        if settings.OWNER.get(s.dotted) in (None, *INSTALLED, *OPTIONAL):  # not a test face
            assert f"`{s.section.rstrip('[]')}.{s.key}`" in block


def test_every_setting_has_help_and_is_registered_once():
    seen = set()
    for s in settings.SETTINGS:
        assert s.help.strip(), s.dotted
        assert s.dotted not in seen, s.dotted
        seen.add(s.dotted)
