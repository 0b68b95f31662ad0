"""structlog set-up: JSON in production, readable on a terminal, secrets redacted."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("token", "authorization", "password", "secret", "private_key", "key_pem")


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Never let a token, password or key reach a log line, whatever the caller bound."""
    for name in list(event_dict):
        if _is_secret(name):
            event_dict[name] = "[redacted]"
    return event_dict


@functools.lru_cache(maxsize=1024)
def _is_secret(name: str) -> bool:
    # Judged once per field name: the names come from the code, a few dozen in all.
    lowered = name.lower()
    return any(secret in lowered for secret in _SECRET_KEYS) and not lowered.endswith("_hash")


def _process_id(pid: int) -> Any:
    def add(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict["pid"] = pid
        return event_dict

    return add


def configure_logging(
    log_format: str = "auto", level: int = logging.INFO, *, with_pid: bool = False
) -> None:
    """Configure structlog once for the process.

    ``auto`` writes readable lines on a terminal and JSON lines otherwise.
    ``with_pid``: each line names the process that wrote it (the processes of
    `serve --processes N` share stderr).
    """
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    tag_pid: list[Any] = [_process_id(os.getpid())] if with_pid else []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *tag_pid,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write per line (message and newline together): the workers of
        # `serve --processes N` share stderr, and print()'s two writes let their
        # lines glue together.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
