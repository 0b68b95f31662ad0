"""[security] require_signed_statuses: 02, 06, 13, 15 and 16 are refused unsigned by default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edoc_axis.config import AxisConfig, load_config, signed_status_codes
from tests.integration.server.conftest import AgencyKit, ConfigTweak, RunningAxis
from tests.integration.server.test_lifecycle import post_status, status_package

A, B = "000.00.00.G22", "000.00.00.H49"


async def _document(axis: RunningAxis, document_id: str) -> tuple[AgencyKit, AgencyKit]:
    a, b = await axis.register(A), await axis.register(B)
    response = await axis.submit(axis.signed(a, [B], document_id=document_id), a)
    assert response.status == 202
    return a, b


async def test_unsigned_final_and_recall_statuses_are_refused_by_default(
    axis: RunningAxis,
) -> None:
    a, b = await _document(axis, "G22-SIGNED")
    for kit, counterparty, code in ((b, A, "02"), (b, A, "06"), (a, B, "13")):
        raw = status_package(kit, "G22-SIGNED", counterparty, code, signed=False)
        response = await post_status(axis, kit, raw)
        assert (response.status, response.code) == (422, "signature.missing"), code
    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert feed == []  # nothing of them stored

    unsigned_03 = status_package(b, "G22-SIGNED", A, "03", signed=False)
    assert (await post_status(axis, b, unsigned_03)).status == 202
    signed_06 = status_package(b, "G22-SIGNED", A, "06")
    assert (await post_status(axis, b, signed_06)).status == 202


def _security(**changes: object) -> ConfigTweak:
    def tweak(config: AxisConfig) -> AxisConfig:
        return dataclasses.replace(config, **changes)  # type: ignore[arg-type]

    return tweak


class TestSwitchedOff:
    @pytest.fixture
    def config_tweak(self) -> ConfigTweak:
        return _security(require_signed_statuses=frozenset({"13"}))

    async def test_codes_left_out_of_the_list_may_be_unsigned(self, axis: RunningAxis) -> None:
        a, b = await _document(axis, "G22-OFF")
        raw = status_package(b, "G22-OFF", A, "06", signed=False)
        assert (await post_status(axis, b, raw)).status == 202
        recall = status_package(a, "G22-OFF", B, "13", signed=False)
        assert (await post_status(axis, a, recall)).code == "signature.missing"


class TestLegacyPolicy:
    @pytest.fixture
    def config_tweak(self) -> ConfigTweak:
        return _security(allow_legacy=True)

    async def test_the_reference_sdks_unsigned_statuses_pass(self, axis: RunningAxis) -> None:
        _, b = await _document(axis, "G22-LEGACY")
        raw = status_package(b, "G22-LEGACY", A, "02", signed=False)
        assert (await post_status(axis, b, raw)).status == 202


def test_the_setting_takes_true_false_or_a_list_of_codes(tmp_path: Path) -> None:
    assert signed_status_codes(True) >= {"01", "02", "06", "13", "15", "16"}
    assert signed_status_codes(False) == frozenset()
    assert signed_status_codes(["06"]) == {"06"}
    for wrong in (["99"], "02", [2]):
        with pytest.raises(ValueError, match="require_signed_statuses"):
            signed_status_codes(wrong)
    path = tmp_path / "axis.toml"
    path.write_text('[security]\nrequire_signed_statuses = ["13"]\n', encoding="utf-8")
    assert load_config(path).require_signed_statuses == {"13"}
    path.write_text("", encoding="utf-8")
    assert load_config(path).require_signed_statuses == {"02", "06", "13", "15", "16"}
