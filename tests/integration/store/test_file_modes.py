"""Store (and its -wal, -shm), keys and operator token: 0600 in 0700 folders, whatever the umask."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edoc_axis.cli.axis_server import private_files, warn_about_open_files
from edoc_axis.config import load_config
from edoc_axis.home import init_home
from edoc_axis.pki import create_ca, issue_certificate, save_issued
from edoc_axis.store.factory import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def permissive_umask(request: pytest.FixtureRequest) -> Iterator[None]:
    previous = os.umask(request.param)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
async def test_a_new_home_and_its_store_are_private(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home")
    config = load_config(home.config)
    store = await open_store(config)
    try:
        await store.append_audit(
            "test.write", datetime.now(UTC), agency=None, detail={}
        )  # makes the WAL
        wal = config.store_path.with_name(config.store_path.name + "-wal")
        shm = config.store_path.with_name(config.store_path.name + "-shm")
        assert wal.exists() and shm.exists()
        for path in (config.store_path, wal, shm, config.axis_key, config.operator_token_file):
            assert mode(path) == 0o600, path
        assert config.ca_key is not None and mode(config.ca_key) == 0o600
        for folder in (home.root, home.root / "pki", config.store_path.parent):
            assert mode(folder) == 0o700, folder
    finally:
        await store.close()


@pytest.mark.usefixtures("permissive_umask")
def test_an_issued_key_goes_into_a_private_folder(tmp_path: Path) -> None:
    issued = issue_certificate(create_ca(), "G22", agency_code="000.00.00.G22")
    save_issued(issued, tmp_path / "new" / "g22" / "key.pem", tmp_path / "new" / "g22" / "cert.pem")
    assert mode(tmp_path / "new" / "g22" / "key.pem") == 0o600
    assert mode(tmp_path / "new" / "g22") == 0o700
    assert mode(tmp_path / "new") == 0o700


async def test_serve_warns_about_a_store_or_key_others_can_read(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home")
    config = load_config(home.config)
    store = await open_store(config)
    await store.close()
    with capture_logs() as quiet:
        assert warn_about_open_files(config) == []
    assert quiet == []
    os.chmod(config.store_path, 0o644)
    os.chmod(config.axis_key, 0o640)
    with capture_logs() as logs:
        exposed = warn_about_open_files(config)
    assert exposed == [config.store_path, config.axis_key]
    assert [(e["event"], e["log_level"], e["mode"]) for e in logs] == [
        ("security.file_exposed", "warning", "0644"),
        ("security.file_exposed", "warning", "0640"),
    ]
    assert config.operator_token_file in private_files(config)


@pytest.mark.usefixtures("permissive_umask")
def test_the_tls_key_of_init_tls_is_private_and_watched(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home", tls=True)
    config = load_config(home.config)
    assert config.tls_key is not None and config.tls_cert is not None
    assert mode(config.tls_key) == 0o600
    assert config.tls_key in private_files(config)
    os.chmod(config.tls_key, 0o644)
    with capture_logs() as logs:
        assert warn_about_open_files(config) == [config.tls_key]
    assert [(e["event"], e["path"]) for e in logs] == [
        ("security.file_exposed", str(config.tls_key))
    ]


def test_a_postgresql_store_has_no_files_to_watch(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home")
    config = dataclasses.replace(
        load_config(home.config), store_backend="postgresql", store_dsn="postgresql://x/y"
    )
    watched = private_files(config)
    assert config.store_path not in watched
    assert config.axis_key in watched and config.operator_token_file in watched
