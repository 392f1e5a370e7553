"""python -m printer (installer's test tool)."""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image

from printer.__main__ import main
from tests.fakeprinter import FakePrinter, decode_raster

ROOT = Path(__file__).resolve().parents[2]


def test_render_png(tmp_path, capsys):
    out = tmp_path / "t.png"
    assert main(["render", "--width", "384", "--out", str(out), "--url", "https://x.cn/q/1"]) == 0
    img = Image.open(out)
    assert img.width == 384
    assert [r.text for r in zxingcpp.read_barcodes(img.convert("L"))] == ["https://x.cn/q/1"]


def test_dummy_print_writes_bytes(tmp_path, capsys):
    out = tmp_path / "job.bin"
    assert main(["print", "--out", str(out)]) == 0
    assert decode_raster(out.read_bytes())[0].width == 576
    assert '"printed": true' in capsys.readouterr().out


def test_network_print_and_status(capsys):
    with FakePrinter() as fp:
        net = ["--driver", "network", "--host", fp.host, "--port", str(fp.port), "--timeout", "1"]
        assert main(["print", *net, "--mode", "text"]) == 0
        fp.mode = "paper_out"
        assert main(["status", *net]) == 1
        assert '"status": "paper_out"' in capsys.readouterr().out


def test_hall_print_test_command(tmp_path, capsys):
    """python -m hall print-test, through the core's CLI extension point."""
    from hall import cli as hall_cli

    config = tmp_path / "hall.toml"
    base = (ROOT / "tests" / "hall_test.toml").read_text(encoding="utf-8")
    with FakePrinter() as fp:
        section = (
            f'\n[printer]\ndriver = "network"\nhost = "{fp.host}"\nport = {fp.port}\n'
            "paper_width_mm = 58\ntimeout = 1.0\n"
        )
        config.write_text(base + section, encoding="utf-8")  # hall_test.toml has no [printer]
        png = tmp_path / "t.png"
        code = hall_cli.main(["--config", str(config), "print-test", "--png", str(png)])
        out = capsys.readouterr().out
        assert code == 0, out
        assert '"printed": true' in out
        assert Image.open(png).width == 384
        fp.wait_idle()
        (img,) = decode_raster(fp.jobs[0])
        assert [r.text for r in zxingcpp.read_barcodes(img)] == ["http://hall.test/"]
        fp.mode = "offline"
        code = hall_cli.main(["--config", str(config), "print-test", "--status"])
        assert code == 1
        assert '"status": "offline"' in capsys.readouterr().out
