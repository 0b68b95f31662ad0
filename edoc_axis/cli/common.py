"""What both command-line tools share: exit codes, errors, settings, progress."""

from __future__ import annotations

import argparse
import difflib
import errno
import json
import os
import re
import socket
import sys
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.errors import EdocError
from edoc_axis.keyfiles import load_certs, load_key

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
EXIT_OUTPUT_CLOSED = 141  # what a shell reports for a tool stopped by SIGPIPE (128 + 13)
PROFILE_ENV = "EDOC_PROFILE"
DEFAULT_PROFILE = Path("~/.config/edoc/profile.toml")

T = TypeVar("T")


class CliFailure(Exception):
    """A one-line failure with its exit code; ``code`` is the API error code if any."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code

    def line(self) -> str:
        return f"{self.code}: {self.message}" if self.code else f"error: {self.message}"


class Unreachable(CliFailure):
    def __init__(self, message: str):
        super().__init__(message, EXIT_UNREACHABLE, "unreachable")


def cannot_listen(
    host: str, port: int, exc: OSError, *, port_flag: str = "--port", host_flag: str = "--host"
) -> CliFailure:
    """The one line for an address a server cannot bind, with what to do about it."""
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = (
            f"port {port} is already in use; stop the program listening there"
            f" or choose another port with {port_flag} (port 0 picks a free one)"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = (
            f"{host} is not an address of this machine; give {host_flag} 127.0.0.1,"
            " 0.0.0.0 (every interface) or one of this machine's addresses"
        )
    elif exc.errno == errno.EACCES:
        why = f"ports below 1024 need privileges; choose another port with {port_flag}"
    elif isinstance(exc, socket.gaierror):
        why = f"{host} is not a known host name; give {host_flag} an IP address"
    else:
        why = f"{exc.strerror or exc}; check {host_flag} and {port_flag}"
    return CliFailure(f"cannot listen on {shown}: {why}", EXIT_REFUSED, "listen.failed")


def fail(message: str, code: str | None = None) -> NoReturn:
    raise CliFailure(message, EXIT_REFUSED, code)


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand, turning every known failure into one stderr line and an exit code."""
    try:
        return func(args)
    except EdocError as error:
        print(f"{error.code}: {error.detail}", file=sys.stderr)
        return EXIT_REFUSED
    except CliFailure as failure:
        print(failure.line(), file=sys.stderr)
        return failure.exit_code
    except BrokenPipeError:
        return output_closed()
    except OSError as exc:  # a file or folder of the user's that we cannot use
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main_with(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse and run one command line; a reader that stops reading ends it quietly."""
    try:
        args = parser.parse_args(argv)
        code = run_command(args.func, args)
        sys.stdout.flush()  # here, not at exit, where a closed pipe would print a traceback
        return code
    except BrokenPipeError:  # e.g. `edoc --help | head -1`
        return output_closed()


def output_closed() -> int:
    """Whoever read our output stopped (``edoc trace ID | head``): stop quietly.

    Later writes, and the flush at interpreter exit, go to /dev/null so that
    Python prints no ``BrokenPipeError`` of its own.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OUTPUT_CLOSED


def describe_os_error(exc: OSError) -> str:
    """One line naming the path and what to do about it."""
    if exc.filename is None:
        return str(exc.strerror or exc)
    path = exc.filename
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return (
            f"permission denied: cannot write to or read {path}"
            " (give this user access to it, or choose another path)"
        )
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {path}"
    if isinstance(exc, NotADirectoryError):
        return f"not a folder: a part of {path} is a file"
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a folder, a file was expected"
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device holding {path}"
    return f"{path}: {exc.strerror or exc}"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples in epilogs laid out as written."""


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors come from the subcommand that was typed.

    A mistyped option (``edoc sign --kye k``) is reported by that subcommand's
    parser, with its usage and a "did you mean --key?", before any complaint
    about required options the typo left out; a mistyped subcommand gets the
    same suggestion. Subparsers made with ``add_subparsers`` inherit the class.
    """

    _given: list[str]

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = list(sys.argv[1:] if args is None else args)
        parsed, extras = super().parse_known_args(args, namespace)
        unknown = [arg for arg in extras if arg.startswith("-") and arg != "-"]
        if unknown:
            self.error(self._unknown_message(unknown))
        if extras:
            self.error(f"unexpected argument{'s' if len(extras) > 1 else ''}: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            unknown = self._unknown_options()
            if unknown:  # the typo is why the option is "missing": say so first
                message = self._unknown_message(unknown)
        choice = _INVALID_CHOICE.search(message)
        if choice:
            options = re.findall(r"'([^']*)'", choice["choices"])
            message += _did_you_mean(choice["given"], options, quote=True)
        super().error(message)

    def _unknown_options(self) -> list[str]:
        unknown = []
        for arg in getattr(self, "_given", []):
            if arg == "--":
                break
            if not arg.startswith("-") or arg == "-" or self._negative_number_matcher.match(arg):
                continue
            name = arg.split("=", 1)[0]
            known = name in self._option_string_actions or (
                self.allow_abbrev
                and name.startswith("--")
                and any(option.startswith(name) for option in self._option_string_actions)
            )
            if not known:
                unknown.append(arg)
        return unknown

    def _unknown_message(self, unknown: list[str]) -> str:
        first = unknown[0].split("=", 1)[0]
        label = "unknown option" if len(unknown) == 1 else "unknown options"
        names = ", ".join(arg.split("=", 1)[0] for arg in unknown)
        return f"{label} {names}" + _did_you_mean(first, list(self._option_string_actions))


def _did_you_mean(given: str, candidates: list[str], *, quote: bool = False) -> str:
    close = difflib.get_close_matches(given, candidates, n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean '{close[0]}'?)" if quote else f" (did you mean {close[0]}?)"


def load_profile(env: str = PROFILE_ENV, default: Path = DEFAULT_PROFILE) -> dict[str, Any]:
    """Connection settings from a profile file: the path in ``env``, else ``default``
    (for `edoc`: EDOC_PROFILE or ~/.config/edoc/profile.toml). A profile that is not
    TOML is a usage error naming the file, not a traceback."""
    path = Path(os.environ.get(env) or default).expanduser()
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliFailure(f"profile {path}: {exc}", EXIT_USAGE) from None


def setting(args: argparse.Namespace, name: str, env: str, *, required: bool = True) -> str | None:
    """A connection setting: the flag wins, then the environment, then the profile."""
    value = getattr(args, name, None) or os.environ.get(env) or load_profile().get(name)
    if value is None and required:
        raise CliFailure(
            f"--{name.replace('_', '-')} is required (or set {env}, or '{name}' in the profile)",
            EXIT_USAGE,
        )
    return None if value is None else str(value)


def key_file(path: str, flag: str = "--key") -> CertificateIssuerPrivateKeyTypes:
    """The private key in ``path`` (for ``flag``), or one line saying what is wrong with it."""
    try:
        return load_key(Path(path))
    except (ValueError, TypeError) as exc:  # not PEM, encrypted, or not RSA/EC
        raise CliFailure(
            f"{path} ({flag}) is not an unencrypted PEM RSA or EC private key", code="key.unusable"
        ) from exc


def cert_files(path: str, flag: str = "--cert") -> list[x509.Certificate]:
    """Every certificate in the PEM file ``path`` (for ``flag``); one line if there is none."""
    try:
        certs = load_certs(Path(path))
    except ValueError:
        certs = []
    if not certs:
        raise CliFailure(f"{path} ({flag}) holds no PEM certificate", code="certificate.unusable")
    return certs


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(headers: list[str], rows: Iterable[list[str]]) -> None:
    rows = [list(map(str, row)) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def write_bytes(path: str, data: bytes) -> None:
    write_pieces(path, [data])


def write_pieces(path: str, pieces: Iterable[bytes | memoryview]) -> None:
    """Write the pieces to ``path`` (``-``: stdout) one after the other, never joined.

    A piece may be read from elsewhere as it is written (a large attachment):
    if that fails, the half-written file is removed, not left looking whole.
    """
    if path == "-":
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.flush()
        return
    target = Path(path)
    try:
        with target.open("wb") as handle:
            for piece in pieces:
                handle.write(piece)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
