"""Only leases of dead processes on this host are released early."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from edoc_axis.delivery.pusher import owner_is_dead


def test_owner_liveness() -> None:
    host = socket.gethostname()
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert owner_is_dead(f"{host}:{child.pid}:abc")
    assert not owner_is_dead(f"{host}:{os.getpid()}:abc")  # ourselves
    assert not owner_is_dead(f"{host}:1:abc")  # alive (init), or not ours to judge
    assert not owner_is_dead(f"another-host:{child.pid}:abc")
    assert not owner_is_dead("garbage")
