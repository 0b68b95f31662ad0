"""Local ports for tests: the one place the suite asks the kernel for one."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on now: the kernel just handed it out and took it back.

    For a server a test starts later on a known port, or for an address that
    must refuse connections. Another process could take it in between; on a
    test machine that is rare enough, and ``held_port`` exists where it is not.
    """
    with held_port() as port:
        return port


@contextmanager
def held_port(*, listen: bool = False) -> Iterator[int]:
    """A 127.0.0.1 port kept bound (and listening if asked) while the block runs.

    Bound only: connections are refused, and nobody else can take the port.
    Listening: the port is in use, as a server would hold it.
    """
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        if listen:
            holder.listen()
        yield int(holder.getsockname()[1])
