"""Use cases shared by every protocol the axis speaks (native API, VDXP).

Each takes the store, the clock and the axis's signer through ``AxisContext``
and an already examined package, and returns domain records or raises the
error tree; the HTTP adapters only translate their protocol to these calls.
"""

from edoc_axis.service.intake import (
    AxisContext,
    accept_document,
    accept_status,
    acknowledge_delivery,
)

__all__ = ["AxisContext", "accept_document", "accept_status", "acknowledge_delivery"]
