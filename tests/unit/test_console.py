"""The console's pieces without a server: words, charts, the timeline.

Sessions live in the store: tests/integration/store/test_store_console_sessions.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edoc_axis.server import console_pages as pages
from edoc_axis.server.console_i18n import LANGUAGES, MESSAGES

TEMPLATES = Path(pages.__file__).parent / "console_templates"
SOURCES = [Path(pages.__file__).parent / name for name in ("console.py", "console_pages.py")]


def test_every_word_is_in_both_languages() -> None:
    assert LANGUAGES == ("vi", "en")
    for key, pair in MESSAGES.items():
        assert len(pair) == 2 and all(text.strip() for text in pair), key


def test_every_key_the_templates_and_handlers_use_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        used.update(re.findall(r"t\['([a-z_.]+)'\]", text))
        used.update(re.findall(r'"(nav\.[a-z_]+)"', text))
    for source in SOURCES:
        found = re.findall(r'"((?:dl|trace|login|csrf)\.[a-z_]+)"', source.read_text())
        used.update(k for k in found if not k.endswith(".html"))
    assert len(used) > 40
    assert sorted(used - set(MESSAGES)) == []


def _stats() -> dict[str, object]:
    hours = [f"2026-11-28T0{h}:00:00+00:00" for h in range(3)]
    return {
        "hour_starts": hours,
        "hours": [
            {
                "hour": hours[1],
                "agency": "A",
                "accepted": 2,
                "delivered": 1,
                "retries": 0,
                "dead_lettered": 0,
                "refused": {"signature.invalid": 3},
            },
            {
                "hour": hours[1],
                "agency": "B",
                "accepted": 5,
                "delivered": 0,
                "retries": 1,
                "dead_lettered": 1,
                "refused": {},
            },
            {
                "hour": hours[2],
                "agency": "A",
                "accepted": 1,
                "delivered": 0,
                "retries": 0,
                "dead_lettered": 0,
                "refused": {"schema.invalid": 1},
            },
        ],
        "agencies": [
            {"agency": "A", "window": {"accepted": 3}},
            {"agency": "B", "window": {"accepted": 5}},
            {"agency": "C", "window": {"accepted": 0}},
        ],
    }


def test_charts_fill_every_hour_and_sum_agencies() -> None:
    traffic = pages.traffic_chart(_stats())
    start = int(datetime(2026, 11, 28, tzinfo=UTC).timestamp())
    assert traffic["x"] == [start, start + 3600, start + 7200]
    assert traffic["series"]["accepted"] == [0, 7, 1]
    assert traffic["series"]["refused"] == [0, 3, 1]
    assert traffic["series"]["dead_lettered"] == [0, 1, 0]
    agencies = pages.agency_chart(_stats())
    assert list(agencies["series"]) == ["B", "A"]  # busiest first, idle ones left out
    assert agencies["series"]["A"] == [0, 2, 1]


def test_the_timeline_is_in_time_order() -> None:
    at = datetime(2026, 11, 28, 9, tzinfo=UTC)
    iso = lambda s: (at + timedelta(seconds=s)).isoformat()  # noqa: E731
    trace = {
        "received_at": iso(0),
        "deliveries": [
            {
                "agency": "H",
                "mode": "push",
                "queued_at": iso(0),
                "delivered_at": iso(30),
                "acked_at": None,
                "statuses": [
                    {
                        "received_at": iso(20),
                        "status_code": "01",
                        "kind": "status",
                        "meaning": "arrived",
                        "from": "H",
                        "to": "G",
                    }
                ],
            },
            {
                "agency": "K",
                "mode": "pull",
                "queued_at": iso(0),
                "delivered_at": None,
                "acked_at": iso(10),
                "statuses": [],
            },
        ],
    }
    moments = pages.timeline(trace)
    assert [(m.what, m.agency) for m in moments] == [
        ("trace.accepted", None),
        ("trace.queued", "H"),
        ("trace.queued", "K"),
        ("trace.acked", "K"),
        ("trace.status", "H"),
        ("trace.delivered", "H"),
    ]
    assert "01 arrived: H → G" in moments[4].note


def test_times_and_ages_for_reading() -> None:
    assert pages.when("2026-11-28T16:00:00+07:00") == "2026-11-28 16:00:00 +07"
    assert pages.when("2026-11-28T20:30:00+00:00") == "2026-11-29 03:30:00 +07"
    assert pages.when(None) == "—"
    assert [pages.age(s) for s in (None, 5, 250, 7500, 3 * 86400 + 4 * 3600)] == [
        "—",
        "5s",
        "4m 10s",
        "2h 05m",
        "3d 4h",
    ]
