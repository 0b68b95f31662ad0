"""VDXP request verification (pure): HMAC over the sign-header as sent, agreement, freshness."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from multidict import CIMultiDict

from edoc_axis.core.vdxp_auth import check_fresh, verify_request
from edoc_axis.errors import VdxpAuthFailed, VdxpHeaderMismatch, VdxpStale, VdxpUnsigned
from edoc_axis.vdxp_client import sdk_timestamp, unpadded_sha256

NOW = datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC)
SECRET = "s3cret"
WEEK = 7 * 24 * 3600.0


def request(params: dict[str, str], secret: str = SECRET, at: datetime = NOW) -> CIMultiDict[str]:
    pairs = {"XroadVnpt-systemid": "vxp.saas.03", "XroadVnpt-timestamp": sdk_timestamp(at)}
    pairs |= {f"XroadVnpt-{k}": v for k, v in params.items()}
    # a HashMap's order, not ours: the server must use the string as sent
    sign_header = json.dumps(dict(reversed(pairs.items())))
    digest = hmac.new(secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()
    headers = CIMultiDict(pairs)
    headers["XroadVnpt-sign-header"] = sign_header
    headers["XroadVnpt-sign-header-key"] = ";".join(n.removeprefix("XroadVnpt-") for n in pairs)
    headers["XroadVnpt-hash-header"] = digest
    headers["XroadVnpt-version"] = "3.0.201608"
    return headers


def secrets(system_id: str) -> str | None:
    return SECRET if system_id == "vxp.saas.03" else None


def verify(headers: CIMultiDict[str], now: datetime = NOW) -> dict[str, str]:
    return dict(verify_request(headers, secrets, now=now, freshness_s=WEEK).values)


def test_a_well_signed_request_yields_its_signed_values() -> None:
    values = verify(request({"docId": "01abc", "status": "done"}))
    assert values["docId"] == "01abc" and values["status"] == "done"


def test_the_hmac_is_over_the_string_as_sent_not_a_re_serialisation() -> None:
    headers = request({"docId": "x"})
    spaced = headers["XroadVnpt-sign-header"].replace(",", ", ")
    headers["XroadVnpt-sign-header"] = spaced  # same JSON, other bytes: old HMAC no longer fits
    with pytest.raises(VdxpAuthFailed):
        verify(headers)


def test_wrong_secret_and_unknown_system_are_one_refusal() -> None:
    with pytest.raises(VdxpAuthFailed) as wrong:
        verify(request({}, secret="other"))
    with pytest.raises(VdxpAuthFailed) as unknown:
        verify_request(request({}), lambda _id: None, now=NOW, freshness_s=WEEK)
    assert wrong.value.detail == unknown.value.detail


def test_a_header_that_disagrees_with_the_signed_one_is_refused() -> None:
    headers = request({"docId": "mine"})
    headers["XroadVnpt-docId"] = "theirs"
    with pytest.raises(VdxpHeaderMismatch):
        verify(headers)


def test_an_unsigned_parameter_header_is_refused() -> None:
    headers = request({"docId": "mine"})
    headers["XroadVnpt-status"] = "done"
    with pytest.raises(VdxpHeaderMismatch):
        verify(headers)


def test_the_key_list_must_name_exactly_the_signed_headers() -> None:
    headers = request({"docId": "mine"})
    headers["XroadVnpt-sign-header-key"] = "systemid;timestamp"
    with pytest.raises(VdxpHeaderMismatch):
        verify(headers)


@pytest.mark.parametrize("missing", ["XroadVnpt-sign-header", "XroadVnpt-hash-header"])
def test_a_request_without_the_signature_set_is_unsigned(missing: str) -> None:
    headers = request({})
    del headers[missing]
    with pytest.raises(VdxpUnsigned):
        verify(headers)


def test_a_sign_header_that_is_not_an_object_of_strings_is_unsigned() -> None:
    headers = request({})
    headers["XroadVnpt-sign-header"] = "[1, 2]"
    with pytest.raises(VdxpUnsigned):
        verify(headers)


def test_freshness_tolerates_any_client_zone_and_a_long_lived_client() -> None:
    for hours in (-12, 0, 7, 14):  # the client's wall time in UTC-12 ... UTC+14
        check_fresh(sdk_timestamp(NOW + timedelta(hours=hours)), NOW, WEEK)
    check_fresh(sdk_timestamp(NOW - timedelta(days=6)), NOW, WEEK)
    with pytest.raises(VdxpStale):
        check_fresh(sdk_timestamp(NOW - timedelta(days=8)), NOW, WEEK)
    with pytest.raises(VdxpStale):
        check_fresh(sdk_timestamp(NOW + timedelta(hours=15)), NOW, WEEK)
    check_fresh(sdk_timestamp(NOW - timedelta(days=800)), NOW, 0)  # 0 disables the window


@pytest.mark.parametrize("bad", ["28-11-2026", "31022026T000000+0001", "28112026T000000"])
def test_a_timestamp_not_in_the_clients_form_is_refused(bad: str) -> None:
    with pytest.raises(VdxpUnsigned):
        check_fresh(bad, NOW, WEEK)


def test_the_clients_hash_file_drops_leading_zeros_per_byte() -> None:
    raw = next(
        r for r in (str(i).encode() for i in range(100)) if hashlib.sha256(r).digest()[0] < 16
    )
    digest = hashlib.sha256(raw).digest()
    assert unpadded_sha256(raw) == "".join(f"{b:x}" for b in digest)
    assert len(unpadded_sha256(raw)) < 64 and unpadded_sha256(raw) != digest.hex()
