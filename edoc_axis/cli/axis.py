"""`edoc-axis`: the operator side command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from edoc_axis import __version__
from edoc_axis.cli import (
    axis_bench,
    axis_conformance,
    axis_operators,
    axis_ops,
    axis_peers,
    axis_registry,
    axis_server,
    axis_store,
    axis_systems,
)
from edoc_axis.cli.common import ArgumentParser, HelpFormatter, main_with

DESCRIPTION = """\
edoc-axis: run and operate an edoc-axis document exchange.

Every operator command takes --config F (or EDOC_AXIS_CONFIG; default
./axis.toml) to work on the axis's own store, or --axis URL --operator-token T
(or EDOC_AXIS_URL, EDOC_OPERATOR_TOKEN, or axis/operator_token in the profile
~/.config/edoc-axis/profile.toml, EDOC_AXIS_PROFILE) to use the operator API of a
running axis from anywhere; the few that need the axis host (pki issue, migrate, store
copy) refuse --axis. Start with `edoc-axis init DIR`, then `edoc-axis serve
--config DIR/axis.toml`. `edoc-axis demo` shows the whole life cycle on a
temporary axis.

Exit codes: 0 success, 1 refused or failed (one line "code: detail" on stderr,
saying what to do), 2 usage error, 3 axis unreachable, 141 output closed early.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="edoc-axis", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"edoc-axis {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    axis_server.add_commands(commands)
    axis_registry.add_commands(commands)
    axis_systems.add_commands(commands)
    axis_peers.add_commands(commands)
    axis_operators.add_commands(commands)
    axis_ops.add_commands(commands)
    axis_store.add_commands(commands)
    axis_conformance.add_commands(commands)
    axis_bench.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return main_with(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
