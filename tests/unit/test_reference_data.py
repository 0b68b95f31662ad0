"""The reference material in tests/data is what its README says was copied, unaltered."""

from __future__ import annotations

import hashlib
import re

from tests.reference import API_SPEC, DATA, SDK_SAMPLES


def _recorded_checksums() -> dict[str, str]:
    text = (DATA / "README.md").read_text("utf-8")
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.M)}


def test_every_copied_file_matches_its_recorded_checksum() -> None:
    recorded = _recorded_checksums()
    on_disk = {
        str(path.relative_to(DATA)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in [*SDK_SAMPLES.iterdir(), API_SPEC]
    }
    assert len(on_disk) == 12
    assert on_disk == recorded
