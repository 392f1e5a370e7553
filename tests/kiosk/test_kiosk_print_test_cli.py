"""`python -m hall print-test --kiosk ID` prints on that kiosk's own network printer."""

from __future__ import annotations

import json

from hall import cli as hall_cli
from tests.conftest import TEST_CONFIG
from tests.fakeprinter import FakePrinter

from .conftest import printed_images, qr_texts


def config_with_kiosk_printer(tmp_path, fp) -> str:
    base = open(TEST_CONFIG, encoding="utf-8").read()
    extra = (
        '\n[[kiosks]]\nid = "K2"\nname = "二楼取号机"\n'
        f'[kiosks.printer]\ndriver = "network"\nhost = "{fp.host}"\nport = {fp.port}\n'
        "timeout = 1.0\npaper_width_mm = 58\n"
    )
    path = tmp_path / "hall.toml"
    path.write_text(base + extra, encoding="utf-8")  # [printer] stays the dummy default
    return str(path)


def test_print_test_on_a_kiosks_network_printer(tmp_path, capsys):
    with FakePrinter() as fp:
        config = config_with_kiosk_printer(tmp_path, fp)
        code = hall_cli.main(["--config", config, "print-test", "--kiosk", "K2"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert json.loads(out)["printed"] is True
        assert fp.wait_idle() and fp.connections == 1
        (img,) = printed_images(fp.jobs[0])
        assert img.width == 384  # the kiosk's 58 mm paper, not [printer]'s 80 mm
        assert qr_texts(img) == ["http://hall.test/"]

        # K1 has no printer of its own: [printer] (dummy), nothing reaches the listener.
        assert hall_cli.main(["--config", config, "print-test", "--kiosk", "K1"]) == 0
        assert fp.wait_idle() and fp.connections == 1

        fp.mode = "paper_out"
        capsys.readouterr()
        assert hall_cli.main(["--config", config, "print-test", "--kiosk", "K2"]) == 1
        out = json.loads(capsys.readouterr().out)
        assert out["printed"] is False and out["status"]["status"] == "paper_out"
        code = hall_cli.main(["--config", config, "print-test", "--kiosk", "K2", "--status"])
        assert code == 1 and '"paper_out"' in capsys.readouterr().out


def test_print_test_unknown_kiosk(tmp_path, capsys):
    with FakePrinter() as fp:
        config = config_with_kiosk_printer(tmp_path, fp)
        code = hall_cli.main(["--config", config, "print-test", "--kiosk", "K9"])
        assert code != 0
        assert fp.connections == 0
