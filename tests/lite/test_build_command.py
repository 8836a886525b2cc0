"""``etf-rebal templates build`` writes each Lite edition from the desktop bytes it just built."""

from __future__ import annotations

from typer.testing import CliRunner

from etf_rebalancer.cli import app
from etf_rebalancer.lite.template import extract_files, lite_edition
from tests.lite.conftest import DESKTOP_TEMPLATES


def test_build_writes_a_lite_edition_beside_every_template(tmp_path):
    result = CliRunner().invoke(app, ["templates", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    built = sorted(tmp_path.glob("*.xlsx"))
    assert [p.name for p in built] == [p.name for p in DESKTOP_TEMPLATES]
    for desktop in built:
        lite = tmp_path / "lite" / desktop.name
        assert lite.read_bytes() == lite_edition(desktop.read_bytes(), desktop.stem)
        assert "REBAL_ORDERS" in extract_files(lite.read_bytes())["main.py"]
