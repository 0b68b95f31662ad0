"""TLS keys of axis.toml: paths relative to the file, pairs that go together."""

from __future__ import annotations

from pathlib import Path

import pytest

from edoc_axis.config import load_config


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "axis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_tls_off_by_default(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, ""))
    assert (config.tls_cert, config.tls_key, config.tls_client_ca, config.push_ca_file) == (
        None, None, None, None,
    )  # fmt: skip
    assert config.scheme == "http"


def test_tls_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    text = (
        '[server]\ntls_cert = "pki/tls.cert.pem"\ntls_key = "pki/tls.key.pem"\n'
        'tls_client_ca = "pki/ca.cert.pem"\n[security]\npush_ca_file = "/etc/ssl/bundle.pem"\n'
    )
    config = load_config(_config(tmp_path, text))
    assert config.tls_cert == tmp_path / "pki/tls.cert.pem"
    assert config.tls_key == tmp_path / "pki/tls.key.pem"
    assert config.tls_client_ca == tmp_path / "pki/ca.cert.pem"
    assert config.push_ca_file == Path("/etc/ssl/bundle.pem")
    assert config.scheme == "https"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[server]\ntls_cert = "c.pem"\n', "tls_cert and tls_key go together"),
        ('[server]\ntls_key = "k.pem"\n', "tls_cert and tls_key go together"),
        ('[server]\ntls_client_ca = "ca.pem"\n', "tls_client_ca needs tls_cert"),
    ],
)
def test_incomplete_tls_settings_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(_config(tmp_path, text))
