"""Running the catalogue: each case alone, with a per-case timeout; no case stops the run."""

from __future__ import annotations

import asyncio
import fnmatch
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from edoc_axis.client import AxisUnreachable, AxisUntrusted
from edoc_axis.conformance import (
    cases_auth,
    cases_endpoint,
    cases_federation,
    cases_flows,
    cases_identity,
    cases_intake,
    cases_pull,
    cases_robustness,
    cases_robustness_net,
    cases_sig_interop,
    cases_signature,
    cases_status,
    cases_vdxp,
    cases_xml,
)
from edoc_axis.conformance.context import http_session
from edoc_axis.conformance.model import Case, CaseFailed, CaseSkipped, Outcome, Probe, Result

DEFAULT_CASE_TIMEOUT_S = 30.0
OnResult = Callable[[Result], None]


def axis_catalogue() -> tuple[Case, ...]:
    """Every case that runs against an axis, in report order."""
    return (
        cases_intake.CASES
        + cases_xml.CASES
        + cases_signature.CASES
        + cases_sig_interop.CASES
        + cases_auth.CASES
        + cases_status.CASES
        + cases_pull.CASES
        + cases_flows.CASES
        + cases_identity.CASES
        + cases_robustness.CASES
        + cases_robustness_net.CASES
        + cases_federation.CASES
    )


def vdxp_catalogue() -> tuple[Case, ...]:
    """Every case of the VDXP transport (``--vdxp``), run against an axis."""
    return cases_vdxp.CASES


def endpoint_catalogue() -> tuple[Case, ...]:
    """Every case that runs against an agency's push endpoint."""
    return cases_endpoint.CASES


def select(cases: Sequence[Case], only: Sequence[str] = ()) -> list[Case]:
    """The cases whose id matches any pattern (``SIG-*``, ``AUTH-004``); all without patterns."""
    if not only:
        return list(cases)
    patterns = [p.upper() for p in only]
    return [c for c in cases if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]


async def run_case(case: Case, ctx: Any, timeout_s: float) -> Result:
    """One case; every way it can end becomes a Result."""
    probe = Probe()
    started = time.monotonic()
    outcome, detail = Outcome.PASS, ""
    try:
        missing = [role for role in case.needs if not ctx.has(role)]
        if missing:
            raise CaseSkipped(f"needs the '{missing[0]}' agency (use --setup or --agencies)")
        await asyncio.wait_for(case.run(ctx, probe), timeout_s)
    except CaseSkipped as exc:
        outcome, detail = Outcome.SKIP, str(exc)
    except CaseFailed as exc:
        outcome, detail = Outcome.FAIL, str(exc)
    except TimeoutError:
        outcome, detail = Outcome.FAIL, f"no answer within {timeout_s:g} s"
        probe.observed = "timeout"
    except (AxisUnreachable, aiohttp.ClientError) as exc:
        outcome, detail = Outcome.FAIL, f"connection failed: {exc}"
        probe.observed = "no answer"
    except Exception as exc:  # a case must never stop the run; report it as a failure
        outcome, detail = Outcome.FAIL, f"{type(exc).__name__}: {exc}"
    if probe.notes and outcome is Outcome.PASS:
        detail = "; ".join(probe.notes)
    return Result(
        case=case,
        outcome=outcome,
        expected=probe.expected,
        observed=probe.observed,
        detail=detail[:400],
        duration_s=time.monotonic() - started,
    )


async def run_cases(
    cases: Sequence[Case],
    ctx: Any,
    *,
    timeout_s: float = DEFAULT_CASE_TIMEOUT_S,
    on_result: OnResult | None = None,
) -> list[Result]:
    """Run ``cases`` one after another (each independent of the others)."""
    results: list[Result] = []
    for case in cases:
        result = await run_case(case, ctx, timeout_s)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def required_passed(results: Sequence[Result]) -> bool:
    """True when every required case passed (a skipped required case is not a pass)."""
    return all(r.outcome is Outcome.PASS for r in results if r.case.required)


async def reachable(url: str, timeout_s: float = 10.0, tls: ssl.SSLContext | None = None) -> bool:
    """Whether anything answers HTTP at ``url`` (any status counts).

    An HTTPS target whose certificate ``tls`` (or the system's CAs) does not
    verify raises ``AxisUntrusted``: it answers, but nothing it says can be trusted.
    """
    try:
        async with (
            http_session(timeout_s, tls) as session,
            session.get(url.rstrip("/") + "/healthz") as response,
        ):
            await response.read()
    except aiohttp.ClientConnectorCertificateError as exc:
        reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
        raise AxisUntrusted(
            f"{url}: its TLS certificate is not trusted ({reason}); "
            "pass --cacert with the CA that issued it"
        ) from exc
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False
    return True
