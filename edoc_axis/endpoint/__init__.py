"""The reference push endpoint a small agency runs to receive documents from the axis."""

from edoc_axis.endpoint.app import OnStored, Received, make_endpoint_app
from edoc_axis.endpoint.storage import JOURNAL_NAME, ReceivedStore, StoredItem

__all__ = [
    "JOURNAL_NAME",
    "OnStored",
    "Received",
    "ReceivedStore",
    "StoredItem",
    "make_endpoint_app",
]
