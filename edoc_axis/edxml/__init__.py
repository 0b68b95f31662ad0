"""The edXML profile (QCVN 102:2016 packages): safe intake, model, reader, writer.

Pure code: no sockets, no event loop, no disk writes.
"""

from __future__ import annotations

from .builder import build_document, build_status
from .codes import (
    STATUS_INFO,
    AgencyCodeForm,
    BusinessDocType,
    StatusCode,
    StatusInfo,
    StatusSender,
    agency_level,
    classify_agency_code,
)
from .interop import REAL_WORLD, STRICT, Tolerances
from .model import (
    Attachment,
    Business,
    BusinessDocumentInfo,
    DocumentCode,
    DocumentPackage,
    DocumentType,
    ManifestReference,
    Organization,
    OtherInfo,
    Package,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)
from .namespaces import DSIG_NS, EDXML_NS
from .parser import package_from_tree, package_kind, read_package
from .safexml import DEFAULT_LIMITS, XmlLimits, safe_parse
from .schema import validate

__all__ = [
    "DEFAULT_LIMITS",
    "DSIG_NS",
    "EDXML_NS",
    "REAL_WORLD",
    "STATUS_INFO",
    "STRICT",
    "AgencyCodeForm",
    "Attachment",
    "Business",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "DocumentCode",
    "DocumentPackage",
    "DocumentType",
    "ManifestReference",
    "Organization",
    "OtherInfo",
    "Package",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusInfo",
    "StatusPackage",
    "StatusSender",
    "Tolerances",
    "TraceHeader",
    "XmlLimits",
    "agency_level",
    "build_document",
    "build_status",
    "classify_agency_code",
    "package_from_tree",
    "package_kind",
    "read_package",
    "safe_parse",
    "validate",
]
