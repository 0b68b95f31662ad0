"""The exception classes carry exactly the codes and statuses of API.md's table."""

from __future__ import annotations

import re

from edoc_axis.errors import EdocError, all_error_classes
from tests.reference import API_SPEC

SPEC = API_SPEC  # copied from the shared specification (tests/data/README.md)


def spec_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*(\d{3})\s*\|(.*?)\|", line)
        if match:
            for code in re.findall(r"`([a-z.\-]+)`", match.group(2)):
                table[code] = int(match.group(1))
    return table


def test_every_spec_code_has_a_class_with_its_status() -> None:
    ours = {cls.code: cls.http_status for cls in all_error_classes()}
    table = spec_table()
    assert len(table) >= 20
    for code, status in table.items():
        assert ours.get(code) == status, code


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes))


def test_problem_document_names_the_code() -> None:
    from edoc_axis.errors import DocumentConflict

    error = DocumentConflict("other bytes", document_id="G22,2026/01/01,1/VB")
    problem = error.to_problem()
    assert problem["code"] == "document.conflict"
    assert problem["status"] == 409
    assert problem["document_id"] == "G22,2026/01/01,1/VB"
    assert isinstance(error, EdocError)
    assert str(error) == "document.conflict: other bytes"
