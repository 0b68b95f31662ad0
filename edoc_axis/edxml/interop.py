"""Which real-world departures from the strict edXML profile a reader accepts.

The document systems in service today send packages the strict profile
refuses: agency codes in lower case with a tenant-style code (``vxp.saas.03``),
a ``TraceHeader`` whose ``OrganId`` is empty or the text ``null``, a ``From``
or ``To`` without ``OrganName``. Each tolerance is a named switch; a package
read under one gets a warning naming it, and its bytes are never changed (the
signature keeps covering exactly what was received).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tolerances:
    """The switches of ``[interop]`` in ``axis.toml`` (all off: the strict profile)."""

    # Agency codes in any case; the registry compares them upper-cased.
    case_insensitive_codes: bool = False
    # TraceHeader/OrganId empty or "null": kept, never used for routing.
    null_trace_organ_id: bool = False
    # From/To without OrganName (the registry knows the agency's name).
    missing_organ_name: bool = False

    @property
    def loose_organ_ids(self) -> bool:
        """Whether the schema must let OrganId values through for the reader to judge."""
        return self.case_insensitive_codes or self.null_trace_organ_id


STRICT = Tolerances()
REAL_WORLD = Tolerances(
    case_insensitive_codes=True, null_trace_organ_id=True, missing_organ_name=True
)


@dataclass
class Reading:
    """One package being read: the tolerances in force and the warnings they gave."""

    tolerances: Tolerances = STRICT
    warnings: list[str] = field(default_factory=list)

    def tolerated(self, where: str, what: str, switch: str) -> None:
        self.warnings.append(f"{where}: {what} (tolerated by interop.{switch})")
