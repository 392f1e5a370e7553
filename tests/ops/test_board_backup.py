"""The supervisor board shows the last backup and warns when it failed or is old."""

from __future__ import annotations

from hall import backup


def board_text(client) -> str:
    r = client.get("/supervisor/board/fragment")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_board_shows_the_last_backup_and_warns(hall, clock, staff, tmp_path):
    boss = staff("boss", role="supervisor")
    html = board_text(boss)
    assert "数据备份" in html and "尚无备份" in html
    assert 'class="alert amber"' not in html  # a new hall: shown, not an alarm

    backup.take(hall)
    html = board_text(boss)
    assert "最近备份：2026-11-30 09:00 成功" in html and "⚠" not in html

    clock.advance(hours=25)
    boss = staff("boss", role="supervisor")  # signed in again: sessions expire
    html = board_text(boss)
    assert "超过一天没有成功备份" in html
    assert '<span class="alert-kind">备份</span>' in html

    # A failed backup is shown with its reason, beside the last good one.
    (tmp_path / "taken.sqlite3").write_bytes(b"")
    backup.take(hall, tmp_path / "taken.sqlite3")
    html = board_text(boss)
    assert "最近备份：2026-12-01 10:00 失败" in html and "目标文件已存在" in html
    assert "最近成功：2026-11-30 09:00" in html and "最近一次备份失败" in html
