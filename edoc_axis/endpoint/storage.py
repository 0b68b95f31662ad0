"""Where the reference endpoint keeps what it received: each document once, atomically.

Layout under the output folder::

    documents/<axis id>.xml     the exact bytes delivered (statuses/ for status messages)
    received.jsonl              one JSON line per newly stored item
    conformance/                the conformance suite's test deliveries (ids starting with
                                "conformance-"), in the same layout, never mixed with
                                the agency's real documents
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from edoc_axis.core.ids import is_conformance_id
from edoc_axis.errors import DocumentConflict
from edoc_axis.files import is_safe_id, write_atomically

JOURNAL_NAME = "received.jsonl"
FOLDERS = {"document": "documents", "status": "statuses"}
CONFORMANCE_FOLDER = "conformance"


@dataclass(frozen=True)
class StoredItem:
    """One received item as the endpoint keeps it."""

    kind: str
    axis_id: str
    sender: str
    sha256: str
    path: str  # relative to the output folder
    duplicate: bool


class ReceivedStore:
    """Stores each (kind, axis id) once and journals it; not safe for concurrent callers.

    The endpoint app serialises calls with one lock, which also keeps the
    journal lines whole and in order.
    """

    def __init__(self, out_dir: Path) -> None:
        self.root = Path(out_dir)
        self.journal = self.root / JOURNAL_NAME

    def prepare(self) -> None:
        """Create the folders (at start-up, so a bad --out fails early)."""
        for folder in FOLDERS.values():
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def store(self, kind: str, axis_id: str, sender: str, body: bytes, at: datetime) -> StoredItem:
        """Keep ``body`` under its axis id; the same bytes again are a duplicate.

        Raises DocumentConflict if other bytes were already stored under that id.
        """
        if kind not in FOLDERS or not is_safe_id(axis_id):
            raise ValueError(f"cannot store kind {kind!r} id {axis_id!r}")
        test = is_conformance_id(axis_id)
        relative = f"{CONFORMANCE_FOLDER + '/' if test else ''}{FOLDERS[kind]}/{axis_id}.xml"
        target = self.root / relative
        digest = hashlib.sha256(body).hexdigest()
        if target.exists():
            with target.open("rb") as stored:
                same = hashlib.file_digest(stored, "sha256").hexdigest() == digest
            if not same:
                raise DocumentConflict(
                    f"{kind} {axis_id} was already stored with other content", document_id=axis_id
                )
            return StoredItem(kind, axis_id, sender, digest, relative, duplicate=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, body)
        self._append_journal(
            self.root / CONFORMANCE_FOLDER / JOURNAL_NAME if test else self.journal,
            {"kind": kind, "axis_id": axis_id, "sender": sender, "sha256": digest,
             "path": relative, "received_at": at.isoformat()}
        )  # fmt: skip
        return StoredItem(kind, axis_id, sender, digest, relative, duplicate=False)

    def _append_journal(self, journal: Path, entry: dict[str, str]) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with journal.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def journal_entries(self) -> list[dict[str, str]]:
        """Every journal line, oldest first (for tests and operators)."""
        if not self.journal.exists():
            return []
        lines = self.journal.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
