"""`edoc`: the agency side command line (build, sign, verify, show, send ...)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from edoc_axis import __version__
from edoc_axis.cli import edoc_endpoint, edoc_local, edoc_remote, edoc_statuses
from edoc_axis.cli.common import ArgumentParser, HelpFormatter, main_with
from edoc_axis.cli.edoc_pull import add_commands as add_pull_commands

DESCRIPTION = """\
edoc: the agency side of the edoc-axis document exchange.

Build an edXML package, sign it, check it, submit it to an axis and follow it.
Connection settings come from flags, then the environment (EDOC_AXIS_URL,
EDOC_TOKEN, EDOC_KEY, EDOC_CERT), then a profile file (EDOC_PROFILE, default
~/.config/edoc/profile.toml with keys axis, token, key, cert).

Exit codes: 0 success, 1 refused or failed (one line "code: detail" on stderr,
saying what to do), 2 usage error, 3 axis unreachable, 141 output closed early
(e.g. `edoc trace ID | head`: the command stops quietly).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="edoc", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"edoc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    edoc_local.add_commands(commands)
    edoc_remote.add_commands(commands)
    add_pull_commands(commands)
    edoc_statuses.add_commands(commands)
    edoc_endpoint.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return main_with(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
