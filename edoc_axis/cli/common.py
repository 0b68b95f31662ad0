"""What both command-line tools share: exit codes, errors, settings, progress."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from edoc_axis.errors import EdocError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
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
    except FileNotFoundError as exc:
        print(f"error: file not found: {exc.filename}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples in epilogs laid out as written."""


def load_profile() -> dict[str, Any]:
    """Connection settings from the profile file (EDOC_PROFILE or ~/.config/edoc/profile.toml)."""
    path = Path(os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE).expanduser()
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return data


def setting(args: argparse.Namespace, name: str, env: str, *, required: bool = True) -> str | None:
    """A connection setting: the flag wins, then the environment, then the profile."""
    value = getattr(args, name, None) or os.environ.get(env) or load_profile().get(name)
    if value is None and required:
        raise CliFailure(
            f"--{name.replace('_', '-')} is required (or set {env}, or '{name}' in the profile)",
            EXIT_USAGE,
        )
    return None if value is None else str(value)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(headers: list[str], rows: Iterable[list[str]]) -> None:
    rows = [list(map(str, row)) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str, *, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.enabled:
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def with_progress(items: list[T], label: str) -> Iterator[T]:
    progress = Progress(len(items), label)
    try:
        for item in items:
            yield item
            progress.advance()
    finally:
        progress.close()


def read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def write_bytes(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(path).write_bytes(data)
