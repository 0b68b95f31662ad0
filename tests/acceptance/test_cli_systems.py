"""`edoc-axis system add / list / rotate / disable / enable`: VDXP systems from the CLI."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.acceptance.conftest import G22, H49, AxisHome, init_home


def test_systems_are_added_listed_rotated_and_disabled(tmp_path: Path) -> None:
    home: AxisHome = init_home(tmp_path)
    home.register_many({G22: "Văn phòng Chính phủ", H49: "UBND tỉnh Hòa Bình"})

    added = home.axis("system", "add", "vxp.saas.03", "--agency", G22, "--agency", H49, "--json")
    first = added.ok().json()
    assert first["agencies"] == [G22, H49] and len(first["secret"]) >= 40
    text = home.axis("system", "add", "vxp.saas.04", "--agency", H49).ok().stdout
    assert "secret (shown once):" in text

    # the secret is sealed: not in the store file, the key file is private
    key_file = home.root / "vdxp.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for path in (home.root / "store").iterdir():
        assert first["secret"].encode() not in path.read_bytes()

    listing = home.axis("system", "list", "--json").ok()
    assert [s["system_id"] for s in listing.json()] == ["vxp.saas.03", "vxp.saas.04"]
    assert first["secret"] not in listing.stdout and "secret" not in listing.json()[0]

    rotated = home.axis("system", "rotate", "vxp.saas.03", "--json").ok().json()
    assert rotated["secret"] != first["secret"]
    assert "disabled" in home.axis("system", "disable", "vxp.saas.04").ok().stdout
    states = {s["system_id"]: s["state"] for s in home.axis("system", "list", "--json").json()}
    assert states == {"vxp.saas.03": "active", "vxp.saas.04": "disabled"}
    assert "active" in home.axis("system", "enable", "vxp.saas.04").ok().stdout


def test_refusals_are_one_line_with_a_code(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    home.register_many({G22: "Văn phòng Chính phủ"})
    home.axis("system", "add", "s1", "--agency", "000.00.00.Z99").refused("not-found")
    home.axis("system", "add", "s1", "--agency", G22).ok()
    home.axis("system", "add", "s1", "--agency", G22).refused("agency.exists")
    home.axis("system", "add", "bad id", "--agency", G22).refused("error", exit_code=2)
    home.axis("system", "rotate", "nobody").refused("not-found")
