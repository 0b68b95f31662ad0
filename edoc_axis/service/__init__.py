"""The axis's use cases: read the store, call the core, write the store.

Each takes the store, the clock, the axis's signer and the config through
``AxisContext`` (or the store and clock alone), returns domain records or
raises the error tree. The HTTP adapters (native API, VDXP), the CLI and the
push dispatcher's hooks only translate their protocol to these calls.
"""

from edoc_axis.service.context import AxisContext, wake
from edoc_axis.service.intake import accept_document, accept_status
from edoc_axis.service.statuses import (
    acknowledge,
    acknowledge_many,
    arrival_writes,
    record_status,
    tell_sender,
)

__all__ = [
    "AxisContext",
    "accept_document",
    "accept_status",
    "acknowledge",
    "acknowledge_many",
    "arrival_writes",
    "record_status",
    "tell_sender",
    "wake",
]
