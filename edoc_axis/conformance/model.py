"""What a conformance case is, what it yields, and how a case states its checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

if TYPE_CHECKING:
    from edoc_axis.client import ApiResponse


class Outcome(StrEnum):
    """The verdict of one case."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    SKIP = "skip"


class CaseFailed(Exception):
    """The implementation did not do what the case expects."""


class CaseSkipped(Exception):
    """The case cannot run with what this run was given (e.g. no operator access)."""


@dataclass(frozen=True)
class AgencyCreds:
    """One agency the suite acts as: its code, API token, signing key and certificate."""

    code: str
    token: str
    key: CertificateIssuerPrivateKeyTypes
    cert: x509.Certificate


@dataclass(frozen=True)
class PeerCreds:
    """The suite acting as a peer axis of the axis under test (registered by ``--setup``).

    ``token`` is the one the axis issued to the peer; ``key`` and ``cert`` are
    the peer's axis key and certificate (its relays' delivery signature).
    ``remote`` and ``remote_second`` are agencies the peer serves (none is an
    agency of the axis itself), ``outside`` is one outside the patterns it
    serves; their certificates are from a CA the axis trusts, their tokens
    empty (they never call the axis). ``max_hops`` is the axis's
    ``[federation] max_hops`` when known.
    """

    name: str
    token: str
    key: CertificateIssuerPrivateKeyTypes
    cert: x509.Certificate
    serves: tuple[str, ...]
    remote: AgencyCreds
    remote_second: AgencyCreds
    outside: AgencyCreds
    max_hops: int | None = None


CaseFn = Callable[[Any, "Probe"], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """One conformance case: an id, a one-line title, the spec clause it checks.

    ``sends`` and ``expects`` say in words what goes over the wire and what
    must come back (they are what docs/conformance.md shows). A case that is
    not ``required`` checks a recommendation or one of our documented
    additions; its failure does not fail the run.
    """

    id: str
    title: str
    clause: str
    required: bool
    sends: str
    expects: str
    run: CaseFn
    needs: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.id.split("-", 1)[0]


@dataclass(frozen=True)
class Result:
    """What happened when a case ran."""

    case: Case
    outcome: Outcome
    expected: str
    observed: str
    detail: str
    duration_s: float

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.case.id,
            "title": self.case.title,
            "clause": self.case.clause,
            "required": self.case.required,
            "outcome": str(self.outcome),
            "expected": self.expected,
            "observed": self.observed,
            "detail": self.detail,
            "duration_s": round(self.duration_s, 3),
        }


def describe(status: int | None, code: str | None) -> str:
    """``422 signature.invalid`` style text of a status and problem code."""
    if status is None:
        return "-"
    return f"{status} {code}" if code else str(status)


@dataclass
class Probe:
    """Handed to each case: records the last expected/observed pair and raises on a miss."""

    expected: str = "-"
    observed: str = "-"
    notes: list[str] = field(default_factory=list)

    def expect(
        self, response: ApiResponse, status: int | Iterable[int], code: str | None = None
    ) -> ApiResponse:
        """Require one of ``status`` (and, given, the problem ``code``)."""
        allowed = (status,) if isinstance(status, int) else tuple(status)
        shown = "|".join(str(s) for s in allowed)
        self.expected = f"{shown} {code}" if code else shown
        self.observed = describe(response.status, response.code if not response.ok else None)
        if response.status not in allowed or (code is not None and response.code != code):
            detail = str(response.problem.get("detail", ""))[:160] if not response.ok else ""
            raise CaseFailed(f"expected {self.expected}, got {self.observed} {detail}".strip())
        return response

    def expect_any(self, response: ApiResponse, answers: Iterable[tuple[int, str]]) -> None:
        """Require one of several (status, code) answers (where the spec allows several)."""
        allowed = tuple(answers)
        self.expected = " or ".join(describe(status, code) for status, code in allowed)
        self.observed = describe(response.status, response.code)
        if (response.status, response.code) not in allowed:
            detail = str(response.problem.get("detail", ""))[:160]
            raise CaseFailed(f"expected {self.expected}, got {self.observed} {detail}".strip())

    def refused(self, response: ApiResponse) -> None:
        """Require any 4xx refusal (where the spec names no code)."""
        self.expected = "4xx refusal"
        self.observed = describe(response.status, response.code)
        if not 400 <= response.status < 500:
            raise CaseFailed(f"expected a 4xx refusal, got {self.observed}")

    def check(self, condition: bool, failure: str, *, expected: str | None = None) -> None:
        """Fail with ``failure`` unless ``condition`` holds; ``expected`` names it in the report."""
        if expected is not None:
            self.expected, self.observed = expected, expected if condition else failure
        if not condition:
            raise CaseFailed(failure)

    def note(self, text: str) -> None:
        self.notes.append(text)

    @staticmethod
    def skip(reason: str) -> None:
        raise CaseSkipped(reason)


def collector(cases: list[Case]) -> Callable[..., Callable[[CaseFn], CaseFn]]:
    """A ``@case(id, title, clause, sends=..., expects=...)`` decorator appending to ``cases``."""

    def case(
        case_id: str,
        title: str,
        clause: str,
        *,
        sends: str,
        expects: str,
        required: bool = True,
        needs: tuple[str, ...] = (),
    ) -> Callable[[CaseFn], CaseFn]:
        def register(run: CaseFn) -> CaseFn:
            cases.append(Case(case_id, title, clause, required, sends, expects, run, needs))
            return run

        return register

    return case
