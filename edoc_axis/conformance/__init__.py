"""The conformance suite (`edoc-axis conformance`): a catalogue of cases run over HTTP.

Against an axis (``--axis``) it acts as registered agencies and checks the
public API of ``spec/API.md`` and the edXML profile; against an agency's push
endpoint (``--endpoint``) it plays the axis. The attack corpus in ``corpus``
and ``corpus_sig`` is shared with the project's tests.
"""

from edoc_axis.conformance.context import AxisTarget, RunContext
from edoc_axis.conformance.endpoint_context import EndpointContext, EndpointTarget
from edoc_axis.conformance.model import AgencyCreds, Case, Outcome, Result
from edoc_axis.conformance.runner import (
    axis_catalogue,
    endpoint_catalogue,
    required_passed,
    run_cases,
    select,
)
from edoc_axis.conformance.setup import set_up

__all__ = [
    "AgencyCreds",
    "AxisTarget",
    "Case",
    "EndpointContext",
    "EndpointTarget",
    "Outcome",
    "Result",
    "RunContext",
    "axis_catalogue",
    "endpoint_catalogue",
    "required_passed",
    "run_cases",
    "select",
    "set_up",
]
