"""The local store of `edoc receive`: verify, keep one durable copy, then acknowledge
(many at once).

``DIR/<id>.edxml`` holds the exact bytes delivered, ``DIR/<id>/`` its attachments
(names made safe, clashes numbered), ``DIR/received.jsonl`` one line per document,
``DIR/refused/<id>.edxml`` + ``.reason.json`` what failed verification. Each file
goes through a temp file, fsync, rename and directory fsync; attachments are
written first, so a present ``<id>.edxml`` means the document is complete.
A re-delivery of the same bytes is acknowledged without a second copy.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from edoc_axis.cli.common import CliFailure
from edoc_axis.client import ApiResponse, AxisClient, FetchedPart, MultipartInvalid
from edoc_axis.edxml import (
    REAL_WORLD,
    DocumentPackage,
    StatusPackage,
    XmlLimits,
)
from edoc_axis.edxml.aside import attachment_texts, read_setting_aside
from edoc_axis.edxml.attachments import (
    ZIP_MAGIC,
    Writable,
    decoded_pieces,
    is_zip_name,
    unwrap_zip_into,
)
from edoc_axis.errors import EdocError, SignatureMissing
from edoc_axis.files import fsync_dir, is_safe_id, write_atomically, write_atomically_with
from edoc_axis.signature import TrustStore, VerificationPolicy, verify_package

JOURNAL = "received.jsonl"
REFUSED = "refused"
SUFFIX = ".edxml"
MAX_NAME_BYTES = 200
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


_COPY_CHUNK = 1024 * 1024
SINGLE_FETCH_BYTES = 1024 * 1024
"""Documents this large are fetched alone (``GET``), never in a batch: a batch
answer would be held whole, and each of its parts copied out of it."""

AttachmentText = str | memoryview
"""An attachment's base64 text: as the tree held it, or a view of the package's bytes."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_attachment(text: AttachmentText, name: str, scratch_dir: Path, out: Writable) -> None:
    """The attachment's file (``Attachment.data()``) written to ``out`` a piece at a time.

    The file is never whole in memory: base64 is decoded 1 MiB at a time, and
    the reference SDK's one-entry ZIP is unwrapped from a scratch file in
    ``scratch_dir``. A file the sender named ``*.zip`` is written as it is.
    """
    pieces = decoded_pieces(text)
    head = b""
    while len(head) < len(ZIP_MAGIC) and (piece := next(pieces, None)) is not None:
        head += piece
    if is_zip_name(name) or not head.startswith(ZIP_MAGIC):
        out.write(head)
        for piece in pieces:
            out.write(piece)
        return
    with tempfile.TemporaryFile(dir=scratch_dir, prefix=".unzip-") as scratch:
        scratch.write(head)
        for piece in pieces:
            scratch.write(piece)
        if not unwrap_zip_into(scratch, out):  # starts like a ZIP but is not one
            scratch.seek(0)
            shutil.copyfileobj(scratch, out, _COPY_CHUNK)


def safe_basename(name: str, fallback: str) -> str:
    """A file name that stays inside its directory, whatever the sender wrote.

    Only the last path component (``/`` or ``\\``) survives; control and
    Windows-reserved characters become ``_``; leading dots go (no hidden files,
    no ``..``); the name is cut to MAX_NAME_BYTES keeping its extension.
    """
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE_CHARS.sub("_", text).strip().lstrip(".").strip()
    if not text:
        return fallback
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 20:
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    while len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix


def unique_names(names: Sequence[str]) -> list[str]:
    """Safe basenames for every attachment, numbered ``name (2).ext`` on clashes."""
    taken: set[str] = set()
    result = []
    for index, name in enumerate(names, start=1):
        base = safe_basename(name, f"attachment-{index}")
        candidate, serial = base, 1
        while candidate.casefold() in taken:
            serial += 1
            stem, dot, ext = base.rpartition(".")
            candidate = f"{stem} ({serial}).{ext}" if dot and stem else f"{base} ({serial})"
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


class ReceiveStore:
    """The output directory of `edoc receive`."""

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir
        self._journal: set[str] | None = None

    def prepare(self) -> None:
        """Make the folders and prove we can write there, before anything is downloaded."""
        try:
            (self.root / REFUSED).mkdir(parents=True, exist_ok=True)
            for folder in (self.root, self.root / REFUSED):
                with tempfile.TemporaryFile(dir=folder, prefix=".write-check-"):
                    pass
        except OSError as exc:
            raise CliFailure(_unwritable(self.root, exc), code="output.unwritable") from exc

    def document_path(self, axis_id: str) -> Path:
        return self.root / f"{axis_id}{SUFFIX}"

    def existing_digest(self, axis_id: str) -> str | None:
        """The sha256 of the copy already saved under this id, if any."""
        path = self.document_path(axis_id)
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    def save(
        self, axis_id: str, raw: bytes, attachments: Sequence[tuple[str, AttachmentText]]
    ) -> list[Path]:
        """Attachments first, then the document (its presence means 'complete').

        Each attachment is decoded as it is written (``write_attachment``); one
        that cannot be (a ZIP bomb, say) raises, and the attachments written
        for this document so far are removed.
        """
        folder = self.root / axis_id
        written: list[Path] = []
        if attachments:
            folder.mkdir(exist_ok=True)
            names = unique_names([name for name, _ in attachments])
            try:
                for name, (_, text) in zip(names, attachments, strict=True):
                    target = folder / name
                    write_atomically_with(target, partial(write_attachment, text, name, folder))
                    written.append(target)
            except EdocError:
                for path in written:
                    path.unlink(missing_ok=True)
                raise
        write_atomically(self.document_path(axis_id), raw)
        return written

    def attachment_paths(self, axis_id: str) -> list[Path]:
        folder = self.root / axis_id
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def refuse(self, axis_id: str, raw: bytes, code: str, detail: str) -> Path:
        target = self.root / REFUSED / f"{axis_id}{SUFFIX}"
        write_atomically(target, raw)
        reason = {"id": axis_id, "code": code, "detail": detail, "sha256": sha256(raw)}
        write_atomically(
            self.root / REFUSED / f"{axis_id}.reason.json",
            json.dumps(reason, ensure_ascii=False, indent=2).encode("utf-8") + b"\n",
        )
        return target

    def journal_ids(self) -> set[str]:
        if self._journal is None:
            self._journal = self._read_journal()
        return self._journal

    def _read_journal(self) -> set[str]:
        path = self.root / JOURNAL
        if not path.is_file():
            return set()
        ids = set()
        for line in path.read_text("utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash; the next record follows it
            if isinstance(entry, dict) and "id" in entry:
                ids.add(str(entry["id"]))
        return ids

    def record(self, entry: dict[str, Any]) -> None:
        """Append one journal line (once per id) and make it durable."""
        if str(entry["id"]) in self.journal_ids():
            return
        path = self.root / JOURNAL
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        created = not path.exists()
        with path.open("ab") as handle:
            if handle.tell() > 0 and not _ends_with_newline(path):
                handle.write(b"\n")
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            fsync_dir(self.root)
        self.journal_ids().add(str(entry["id"]))


def _unwritable(root: Path, exc: OSError) -> str:
    """Why `edoc receive` cannot keep documents in ``root``, and what to do."""
    folder = root.absolute()
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return (
            f"cannot create or write in the folder {folder}: permission denied"
            " (give this user write access to it, or choose another --out)"
        )
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return (
            f"cannot use {folder} as a folder: it, or a folder above it, is a file"
            " (choose another --out)"
        )
    return f"cannot write to the folder {folder}: {exc.strerror or exc} (choose another --out)"


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


# --- the axis side --------------------------------------------------------------------


def checked(response: ApiResponse) -> ApiResponse:
    """The response if it succeeded; otherwise the axis's refusal as a CliFailure."""
    if response.ok:
        return response
    raise_refusal(response)


def raise_refusal(response: ApiResponse) -> NoReturn:
    detail = response.problem.get("detail") or f"HTTP {response.status}"
    raise CliFailure(str(detail), code=response.code or f"http.{response.status}")


async def waiting(client: AxisClient, page_size: int = 100) -> list[dict[str, Any]]:
    """Every document in the caller's inbox, following the cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = checked(await client.inbox(page_size, cursor)).json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def outcome(axis_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    """One document's result: kind is saved, already-saved, refused or failed."""
    return {"id": axis_id, "outcome": kind, **fields}


def _failed(axis_id: str, response: ApiResponse) -> dict[str, Any]:
    detail = str(response.problem.get("detail") or f"HTTP {response.status}")
    return outcome(
        axis_id, "failed", code=response.code or f"http.{response.status}", detail=detail
    )


FETCH_BATCH = 50
"""Documents `edoc receive` asks for in one request."""


async def _fetched(client: AxisClient, ids: list[str]) -> tuple[list[FetchedPart], bool]:
    """The parts of one batch fetch, in the order asked (none if the answer is not
    that), and whether the axis has batch fetch at all (no after a 404 or 405)."""
    try:
        response, parts = await client.inbox_documents(ids)
    except MultipartInvalid:
        return [], True
    if not response.ok or [part.axis_id for part in parts] != ids[: len(parts)]:
        return [], response.status not in (404, 405)
    return parts, True


def _next_batch(pending: Sequence[str], large: set[str]) -> list[str]:
    """The ids to ask in one batch: up to FETCH_BATCH, ending before a large one."""
    batch = []
    for axis_id in pending[:FETCH_BATCH]:
        if axis_id in large:
            break
        batch.append(axis_id)
    return batch


@dataclass
class Receiver:
    store: ReceiveStore
    policy: VerificationPolicy
    trust: TrustStore | None = None

    def check(self, raw: bytes) -> list[tuple[str, AttachmentText]]:
        """Verify the signature (and with a trust store the signer); each attachment's
        name and base64 text, already checked, for ``ReceiveStore.save`` to decode.

        A large attachment's text stays in ``raw`` (``edxml.aside``), as on the
        axis: the tree, the digest and the decoding read it from there.
        """
        limits = XmlLimits(max_bytes=max(len(raw), XmlLimits.max_bytes))
        # The axis accepted it: read it as real traffic is (see edxml.interop).
        root, aside, package = read_setting_aside(raw, limits, REAL_WORLD)
        try:
            verified = verify_package(root, self.policy, document_size=len(raw), aside=aside)
        except SignatureMissing:
            if isinstance(package, StatusPackage):
                return []  # statuses may travel unsigned
            raise
        if self.trust is not None:
            self.trust.check(verified.certificate, datetime.now(UTC), verified.chain)
        if isinstance(package, DocumentPackage):
            names = [a.attachment_name for a in package.attachments]
            return list(zip(names, attachment_texts(root, aside), strict=True))
        return []

    async def receive(self, client: AxisClient, axis_id: str) -> dict[str, Any]:
        """Download, verify, save once and record; the caller then (and only then)
        acknowledges what was saved (``acknowledge_saved``, many in one request)."""
        if not is_safe_id(axis_id):
            return outcome(axis_id, "refused", code="request.invalid", detail="unsafe axis id")
        return self.take(axis_id, await client.inbox_document(axis_id))

    async def receive_many(
        self,
        client: AxisClient,
        axis_ids: Sequence[str],
        sizes: Mapping[str, int] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """``receive`` for each id, FETCH_BATCH documents per request
        (``POST /api/v1/inbox/fetch``), yielding each outcome as it is saved.

        A document of SINGLE_FETCH_BYTES or more by ``sizes`` (the inbox's
        ``size``) is fetched alone, in its turn. An axis that answers the batch
        with an error (one without the batch resource, say) or with parts that
        are not the ids asked, in order, is asked one document at a time instead.
        """
        large = {i for i, size in (sizes or {}).items() if size >= SINGLE_FETCH_BYTES}
        pending = [i for i in axis_ids if is_safe_id(i)]
        for axis_id in axis_ids:
            if not is_safe_id(axis_id):
                yield outcome(axis_id, "refused", code="request.invalid", detail="unsafe axis id")
        batches = True  # until the axis shows it has no batch fetch
        while pending:
            alone = not batches or pending[0] in large
            chunk = pending[:1] if alone else _next_batch(pending, large)
            parts, batches = ([], batches) if alone else await _fetched(client, chunk)
            if not parts:
                for axis_id in chunk:
                    yield await self.receive(client, axis_id)
                pending = pending[len(chunk) :]
                continue
            for part in parts:
                yield self.take(part.axis_id, part.as_response())
            pending = pending[len(parts) :]

    def take(self, axis_id: str, response: ApiResponse) -> dict[str, Any]:
        """Verify, save once and record one fetched document (see ``receive``)."""
        if not response.ok:
            return _failed(axis_id, response)
        raw = response.body
        try:
            attachments = self.check(raw)
        except EdocError as error:
            return self._refused(axis_id, raw, error)
        path, existing = self.store.document_path(axis_id), self.store.existing_digest(axis_id)
        if existing is not None and existing != sha256(raw):
            detail = f"{path} holds different bytes; kept it, not acknowledged"
            return outcome(axis_id, "refused", code="document.conflict", detail=detail)
        if existing is None or (attachments and not self.store.attachment_paths(axis_id)):
            try:
                files = self.store.save(axis_id, raw, attachments)  # (again: attachments missing)
            except EdocError as error:  # an attachment that cannot be decoded: a ZIP bomb
                return self._refused(axis_id, raw, error)
        else:
            files = self.store.attachment_paths(axis_id)
        names = [str(f) for f in files]
        sender = response.headers.get("Edoc-Sender")
        saved_at = datetime.now(UTC).isoformat()
        self.store.record(
            {"id": axis_id, "sha256": sha256(raw), "path": str(path), "attachments": names}
            | {"sender": sender, "saved_at": saved_at}
        )
        kind = "saved" if existing is None else "already-saved"
        return outcome(axis_id, kind, path=str(path), attachments=names)

    def _refused(self, axis_id: str, raw: bytes, error: EdocError) -> dict[str, Any]:
        """Kept in refused/ with its reason, and not acknowledged."""
        where = str(self.store.refuse(axis_id, raw, error.code, error.detail))
        return outcome(axis_id, "refused", code=error.code, detail=error.detail, path=where)


SAVED = ("saved", "already-saved")


async def acknowledge_saved(
    client: AxisClient, saved: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Acknowledge documents already saved, in one request; each result as it ends.

    An axis without the batch route (404/405) is acknowledged one document at a
    time; a refusal of the whole request fails each document (it is fetched and
    acknowledged again at the next run: the copy on disk makes that harmless).
    """
    if not saved:
        return []
    response = await client.ack_many([result["id"] for result in saved])
    if response.status in (404, 405):
        return [await _acknowledge_one(client, result) for result in saved]
    if not response.ok:
        return [_failed(result["id"], response) for result in saved]
    answers = {item["id"]: item for item in response.json()["items"]}
    ended = []
    for result in saved:
        error = answers.get(result["id"], {}).get("error")
        if result["id"] not in answers or error:
            error = error or {"code": "ack.missing", "detail": "the axis did not answer this id"}
            ended.append(
                outcome(result["id"], "failed", code=error["code"], detail=error["detail"])
            )
        else:
            ended.append(result)
    return ended


async def _acknowledge_one(client: AxisClient, result: dict[str, Any]) -> dict[str, Any]:
    ack = await client.ack(result["id"])
    return result if ack.ok else _failed(result["id"], ack)
