"""Offline `edoc` commands: new, sign, verify, show, verify-receipt."""

from __future__ import annotations

import argparse
import hashlib
import mimetypes
import os
import secrets
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    cert_files,
    fail,
    key_file,
    load_profile,
    print_json,
    read_bytes,
    setting,
    write_pieces,
)
from edoc_axis.cli.describe import describe_package, print_description
from edoc_axis.clock import vietnam_now
from edoc_axis.core.compose import new_document
from edoc_axis.core.receipt import verify_receipt
from edoc_axis.edxml import (
    REAL_WORLD,
    STRICT,
    Attachment,
    BusinessDocType,
    DocumentPackage,
    Tolerances,
    XmlLimits,
    build_document,
)
from edoc_axis.edxml.aside import attachment_texts, parse_setting_aside, read_setting_aside
from edoc_axis.edxml.attachments import encoded_pieces, write_zip_form
from edoc_axis.errors import CertificateUntrusted, EdocError
from edoc_axis.keyfiles import load_certs, load_trust_store
from edoc_axis.signature import VerificationPolicy, sign_parsed, verify_package
from edoc_axis.signature.pieces import pieces_of, with_texts_back

LARGE_FILE = 768 * 1024
"""An attachment this large (1 MiB of base64 or more) is never read whole by `edoc new`."""


def _attachment(
    index: int, path: Path, zip_form: bool, large: dict[str, Iterable[bytes]]
) -> Attachment:
    """The attachment for ``path``. A large file's text is a marker in the package,
    its base64 written in its place a piece at a time (``large``: marker -> pieces)."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.stat().st_size < LARGE_FILE:
        return Attachment.from_bytes(
            f"cid:{index}", path.name, path.read_bytes(), content_type=content_type, zip=zip_form
        )
    marker = f"EdocAxisFile{secrets.token_hex(16)}"  # whole base64 quads, as the text is
    large[marker] = _encoded_file(path, zip_form)
    return Attachment(f"cid:{index}", content_type, path.name, None, marker)


def _encoded_file(path: Path, zip_form: bool) -> Iterator[bytes]:
    """``encode_content`` of the file (the SDK's ZIP form through a scratch file), in pieces."""
    with path.open("rb") as source:
        if not zip_form:
            yield from encoded_pieces(source)
            return
        with tempfile.TemporaryFile(prefix="edoc-new-") as archive:
            write_zip_form(source, path.name, archive)
            archive.seek(0)
            yield from encoded_pieces(archive)


def cmd_new(args: argparse.Namespace) -> int:
    recipients = [code.strip() for code in args.to.split(",") if code.strip()]
    if not recipients:
        fail("--to needs at least one agency code")
    large: dict[str, Iterable[bytes]] = {}
    attachments = [
        _attachment(i, Path(p), args.zip, large) for i, p in enumerate(args.attach or [], start=1)
    ]
    at = vietnam_now()
    if args.date:
        at = datetime.combine(args.date, at.time())
    if args.business in ("update", "replace") and not args.ref:
        raise CliFailure(
            f"--business {args.business} needs --ref DOCUMENT_ID (the document it acts on)",
            exit_code=EXIT_USAGE,
        )
    _check_receiver_changes(args)
    number = args.code_number or fresh_code_number(at)
    sender_name = args.from_name or name_from_certificate(args.sender)
    try:
        package = _compose(args, recipients, attachments, at, number, sender_name)
    except ValueError as exc:  # an inconsistent combination of options
        raise CliFailure(str(exc), exit_code=EXIT_USAGE) from exc
    write_pieces(args.output, pieces_of(with_texts_back(build_document(package), large)))
    where = "stdout" if args.output == "-" else args.output
    line = f"wrote {where} (DocumentId {package.document_id})"
    print(line, file=sys.stderr if args.output == "-" else sys.stdout)
    return EXIT_OK


def fresh_code_number(at: datetime) -> str:
    """A number no other document of the sender made that day has: the milliseconds since
    midnight (Vietnam time) followed by this process's id, so numbers grow through the day
    and two runs in the same millisecond (a script starting several at once) still differ:
    live processes never share an id. The DocumentId holds the date, so the number only
    needs to be unique within the day.
    """
    millis = (at - datetime.combine(at.date(), time())) // timedelta(milliseconds=1)
    return f"{millis}{os.getpid():07d}"


def name_from_certificate(sender: str) -> str | None:
    """The sender's name from the organisation (O=) of its certificate, when the certificate
    named by EDOC_CERT or the profile's ``cert`` is that agency's; None otherwise."""
    path = os.environ.get("EDOC_CERT") or load_profile().get("cert")
    if not path:
        return None
    try:
        cert = load_certs(Path(str(path)).expanduser())[0]
    except (OSError, ValueError, IndexError):
        return None  # a broken EDOC_CERT is for `edoc sign` to report
    if _agency_code(cert) != sender:
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(names[0].value) if names else None


def _compose(
    args: argparse.Namespace,
    recipients: list[str],
    attachments: list[Attachment],
    at: datetime,
    code_number: str,
    sender_name: str | None,
) -> DocumentPackage:
    return new_document(
        sender=args.sender,
        sender_name=sender_name,
        recipients=recipients,
        subject=args.subject,
        at=at,
        code_number=code_number,
        code_notation=args.code_notation,
        document_type=args.type,
        type_name=args.type_name,
        place=args.place,
        document_id=args.document_id,
        business_type=BusinessDocType[args.business.upper()],
        business_reference=args.ref,
        attachments=attachments,
        added_recipients=_codes(args.add_recipient),
        removed_recipients=_codes(args.remove_recipient),
    )


def _codes(values: list[str] | None) -> list[str]:
    """Agency codes from repeated and/or comma-separated options, each once, in order."""
    codes = [code.strip() for value in values or [] for code in value.split(",")]
    return list(dict.fromkeys(code for code in codes if code))


def _check_receiver_changes(args: argparse.Namespace) -> None:
    """--add-recipient/--remove-recipient make an update's ReceiverList; refuse nonsense."""
    added, removed = _codes(args.add_recipient), _codes(args.remove_recipient)
    if not added and not removed:
        return
    if args.business != "update":
        raise CliFailure(
            "--add-recipient/--remove-recipient change an update's ReceiverList: "
            "add --business update --ref DOCUMENT_ID",
            exit_code=EXIT_USAGE,
        )
    both = sorted(set(added) & set(removed))
    if both:
        raise CliFailure(
            f"{', '.join(both)} is both added and removed; name each agency once",
            exit_code=EXIT_USAGE,
        )


def cmd_sign(args: argparse.Namespace) -> int:
    key_path = setting(args, "key", "EDOC_KEY")
    cert_path = setting(args, "cert", "EDOC_CERT")
    assert key_path is not None and cert_path is not None
    key = key_file(key_path)
    cert = cert_files(cert_path)[0]
    raw = read_bytes(args.input)
    # A large attachment's text stays in ``raw`` (edxml.aside): hashed and written from there.
    root, aside = parse_setting_aside(raw, XmlLimits())
    try:
        signed = sign_parsed(root, key, cert, aside)
    except ValueError as exc:  # the key is not the certificate's
        raise CliFailure(
            f"{key_path} (--key) and {cert_path} (--cert): {exc}", code="key.mismatch"
        ) from exc
    write_pieces(args.output, pieces_of(signed))
    if args.output != "-":
        print(f"signed {args.input} -> {args.output}")
    return EXIT_OK


def _tolerances(args: argparse.Namespace) -> Tolerances:
    """Real-world packages are read with warnings; --strict is the XSD as written."""
    return STRICT if args.strict else REAL_WORLD


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    raw = read_bytes(args.input)
    # The model is read for its checks and warnings; the signature below covers
    # the exact bytes whatever the tolerances let through. A large attachment's
    # text stays in ``raw`` (edxml.aside), as at the axis.
    root, aside, package = read_setting_aside(raw, XmlLimits(), _tolerances(args))
    warnings = package.warnings
    policy = VerificationPolicy(allow_legacy=args.legacy)
    verified = verify_package(root, policy, document_size=len(raw), aside=aside)
    cert = verified.certificate
    trust_line = "not checked (no --ca)"
    if args.ca:
        trust = load_trust_store([Path(p) for p in args.ca], [Path(p) for p in args.crl or []])
        try:
            trust.check(cert, datetime.now(UTC), verified.chain)
        except CertificateUntrusted as error:
            hint = "; give the certificate of the CA that issued it with --ca"
            raise CliFailure(error.detail + hint, code=error.code) from error
        trust_line = "chains to the given CA, valid now, not revoked"
    result: dict[str, Any] = {
        "verdict": "valid",
        "signer": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "agency_code": _agency_code(cert),
        "signature_algorithm": verified.signature_algorithm,
        "digest_algorithm": verified.digest_algorithm,
        "legacy_policy": verified.legacy,
        "certificate": trust_line,
        "profile": "strict" if args.strict else _profile_line(warnings),
    }
    if args.json:
        print_json({**result, "warnings": list(warnings)})
    else:
        _warn(warnings)
        for name, value in result.items():
            print(f"{name.replace('_', ' '):20} {value}")
    return EXIT_OK


def _profile_line(warnings: tuple[str, ...]) -> str:
    if not warnings:
        return "strict edXML"
    return f"edXML with {len(warnings)} real-world departure(s) tolerated (see warnings)"


def _agency_code(cert: x509.Certificate) -> str:
    for oid in (NameOID.USER_ID, NameOID.COMMON_NAME):
        values = cert.subject.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return "(none)"


def cmd_show(args: argparse.Namespace) -> int:
    raw = read_bytes(args.input)
    if args.repair:
        start = raw.find(b"<")
        raw = raw[start:] if start > 0 else raw
    # A large attachment's text stays in ``raw``; its size is counted a piece at a time.
    root, aside, package = read_setting_aside(raw, XmlLimits(), _tolerances(args))
    texts = attachment_texts(root, aside) if isinstance(package, DocumentPackage) else []
    description = describe_package(package, texts)
    if args.json:
        print_json({**description, "warnings": list(package.warnings)})
    else:
        _warn(package.warnings)
        print_description(description)
    return EXIT_OK


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    certs = [cert for path in args.axis_cert for cert in cert_files(path, "--axis-cert")]
    try:
        receipt = verify_receipt(read_bytes(args.input), certs)
    except EdocError as error:
        raise CliFailure(error.detail, code=error.code) from error
    data = {
        "verdict": "valid",
        "axis": receipt.axis_name,
        "axis_id": receipt.axis_id,
        "sender": receipt.sender,
        "document_id": receipt.document_id,
        "sha256": receipt.sha256,
        "accepted_at": receipt.accepted_at.isoformat(),
        "recipients": list(receipt.recipients),
        "legacy_policy": receipt.legacy_policy,
    }
    if args.document:
        digest = hashlib.sha256(read_bytes(args.document)).hexdigest()
        if digest != receipt.sha256:
            fail(
                f"{args.document} is not the document this receipt acknowledges", "receipt.mismatch"
            )
        data["document"] = "matches the receipt's digest"
    if args.json:
        print_json(data)
    else:
        for name, value in data.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{name.replace('_', ' '):14} {shown}")
    return EXIT_OK


def _date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y/%m/%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError("dates are yyyy/MM/dd") from None


def _strict_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse what the axis's [interop] tolerances accept with a warning: lower-case "
        "agency codes, an empty or 'null' TraceHeader OrganId, From/To without OrganName",
    )


def add_commands(commands: Any) -> None:
    new = commands.add_parser(
        "new",
        help="build an edXML document package",
        formatter_class=HelpFormatter,
        description="Build an unsigned edXML document package in the reference serialisation "
        "and print the DocumentId it wrote (on stderr with -o -). Without --code-number the "
        "document gets a fresh number, so two documents made the same day never conflict.",
        epilog="example:\n  edoc new --from 000.00.00.G22 --to 000.00.00.H49 \\\n"
        "    --subject 'V/v kết nối' --code-number 12 --code-notation VPCP-KSTT \\\n"
        "    --attach letter.pdf -o doc.xml\n"
        "  edoc new --from 000.00.00.G22 --to 000.00.00.H49,000.00.00.G15 \\\n"
        "    --subject 'V/v bổ sung nơi nhận' --business update --ref 'G22,2026/11/27,12/VPCP' \\\n"
        "    --add-recipient 000.00.00.G15 --remove-recipient 000.00.00.G14 -o update.xml",
    )
    new.add_argument("--from", dest="sender", required=True, help="sender agency code")
    new.add_argument(
        "--from-name",
        help="sender agency name (default: O= of the certificate in EDOC_CERT or the profile "
        "when it is the --from agency's, else the code)",
    )
    new.add_argument("--to", required=True, help="recipient codes, comma separated")
    new.add_argument("--subject", required=True, help="trích yếu")
    new.add_argument(
        "--code-number",
        help="số (default: a fresh number, the milliseconds since midnight and the process "
        "id, so documents made the same day never share a DocumentId)",
    )
    new.add_argument("--code-notation", default="VB", help="ký hiệu (default VB)")
    new.add_argument("--type", type=int, default=1, help="DocumentType/Type (default 1)")
    new.add_argument("--type-name", default="Công văn", help="DocumentType/TypeName")
    new.add_argument("--place", default="Hà Nội", help="PromulgationInfo/Place")
    new.add_argument("--date", type=_date, help="promulgation date yyyy/MM/dd (default today)")
    new.add_argument("--document-id", help="DocumentId (default: sender,date,number/notation)")
    new.add_argument(
        "--business",
        choices=["new", "revoke", "update", "replace"],
        default="new",
        help="business type (default new)",
    )
    new.add_argument("--ref", help="the DocumentId a revoke/update/replace acts on")
    new.add_argument(
        "--add-recipient",
        action="append",
        metavar="CODE",
        help="update only: an agency the update adds (ReceiverType 1); repeat or comma-separate",
    )
    new.add_argument(
        "--remove-recipient",
        action="append",
        metavar="CODE",
        help="update only: an agency the update removes (ReceiverType 0); it is told so",
    )
    new.add_argument("--attach", action="append", metavar="FILE", help="attach a file (repeat)")
    new.add_argument(
        "--zip", action="store_true", help="zip each attachment like the reference SDK"
    )
    new.add_argument("-o", "--output", required=True, help="output file, - for stdout")
    new.set_defaults(func=cmd_new)

    sign = commands.add_parser(
        "sign",
        help="sign a package (enveloped XML-DSig)",
        formatter_class=HelpFormatter,
        description="Sign with RSA-SHA256 or ECDSA-SHA256 (by key type), SHA-256 digest, "
        "certificate in KeyInfo, Signature as the last child of edXMLHeader.",
        epilog="example:\n  edoc sign doc.xml --key key.pem --cert cert.pem -o doc.signed.xml\n"
        "  EDOC_KEY=key.pem EDOC_CERT=cert.pem edoc sign doc.xml -o doc.signed.xml",
    )
    sign.add_argument("input", help="unsigned package, - for stdin")
    sign.add_argument("--key", help="PEM private key (default: EDOC_KEY, then the profile)")
    sign.add_argument("--cert", help="PEM certificate (default: EDOC_CERT, then the profile)")
    sign.add_argument("-o", "--output", required=True, help="output file, - for stdout")
    sign.set_defaults(func=cmd_sign)

    verify = commands.add_parser(
        "verify",
        help="check a package's signature offline",
        formatter_class=HelpFormatter,
        description="Check the package against the edXML schema and verify its XML signature; "
        "with --ca also the certificate chain, validity now and --crl revocation. Prints signer, "
        "agency code, algorithm, verdict. Real-world departures the axis tolerates ([interop]) "
        "are warnings on stderr; --strict refuses them.",
        epilog="example:\n  edoc verify doc.signed.xml --ca ca.cert.pem",
    )
    verify.add_argument("input", help="signed package, - for stdin")
    verify.add_argument("--ca", action="append", help="trusted CA certificate PEM (repeat)")
    verify.add_argument("--crl", action="append", help="CRL file PEM or DER (repeat)")
    verify.add_argument(
        "--legacy", action="store_true", help="accept SHA-1 and the SDK's edXML-namespace signature"
    )
    _strict_flag(verify)
    verify.add_argument("--json", action="store_true", help="machine output")
    verify.set_defaults(func=cmd_verify)

    show = commands.add_parser(
        "show",
        help="print what a package says (document or status)",
        formatter_class=HelpFormatter,
        description="Parse any package and print kind, sender, recipients, DocumentId, "
        "code/notation, type, subject, business type, status code and attachments. "
        "Needs no keys. Real-world departures the axis tolerates ([interop]) are warnings on "
        "stderr; --strict refuses them.",
        epilog="example:\n  edoc show doc.xml --json",
    )
    show.add_argument("input", help="package file, - for stdin")
    _strict_flag(show)
    show.add_argument("--json", action="store_true", help="machine output")
    show.add_argument(
        "--repair", action="store_true", help="strip junk before the first '<' (the SDK's '1212')"
    )
    show.set_defaults(func=cmd_show)

    receipt = commands.add_parser(
        "verify-receipt",
        help="check an axis receipt offline",
        formatter_class=HelpFormatter,
        description="Verify the axis's signature on an acceptance receipt; with --document "
        "also check that the receipt's digest is that file's.",
        epilog="example:\n  edoc verify-receipt receipt.xml --axis-cert axis.cert.pem",
    )
    receipt.add_argument("input", help="receipt XML")
    receipt.add_argument(
        "--axis-cert", action="append", required=True, help="axis certificate PEM (repeat)"
    )
    receipt.add_argument("--document", help="the package the receipt should acknowledge")
    receipt.add_argument("--json", action="store_true", help="machine output")
    receipt.set_defaults(func=cmd_verify_receipt)
