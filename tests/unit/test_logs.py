"""No secret reaches a log line, whatever name the caller bound it under."""

from __future__ import annotations

from edoc_axis.logs import redact_secrets


def test_secrets_are_redacted_and_their_hashes_and_other_fields_kept() -> None:
    event = {
        "event": "agency.registered",
        "token": "s3cr3t",
        "Authorization": "Bearer s3cr3t",
        "operator_password": "pw",
        "client_secret": "x",
        "private_key": "-----BEGIN",
        "key_pem": "-----BEGIN",
        "token_hash": "ab12",
        "axis_id": "01abc",
    }
    for _ in range(2):  # the second time from the per-name memo
        out = redact_secrets(None, "info", dict(event))
        assert out == {
            "event": "agency.registered",
            "token": "[redacted]",
            "Authorization": "[redacted]",
            "operator_password": "[redacted]",
            "client_secret": "[redacted]",
            "private_key": "[redacted]",
            "key_pem": "[redacted]",
            "token_hash": "ab12",
            "axis_id": "01abc",
        }
