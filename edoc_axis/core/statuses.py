"""Which status may follow which, per recipient of a document (pure).

Progress runs 01 → 03 (or 02) → 04 → 05 → 06; steps may be skipped, a status
never moves a delivery backwards, and 02 and 06 are final. The recall
conversation (13 from the sender, 15/16 from a recipient) runs beside it.
"""

from __future__ import annotations

from edoc_axis.edxml import StatusCode
from edoc_axis.edxml.codes import StatusSender
from edoc_axis.errors import StatusNotAllowed, StatusTransition


def check_sender_role(code: StatusCode, *, is_sender: bool, is_recipient: bool) -> None:
    """Refuse a code the caller's role may not send (13 is the sender's, the rest recipients')."""
    needed = code.info.sender
    if needed == StatusSender.ORIGINAL_SENDER and not is_sender:
        raise StatusNotAllowed(f"status {code.value} may only be sent by the document's sender")
    if needed == StatusSender.RECIPIENT and not is_recipient:
        raise StatusNotAllowed(f"status {code.value} may only be sent by a recipient")


def check_progress(current: StatusCode | None, new: StatusCode) -> None:
    """Refuse a progress status that moves backwards or follows a final one.

    A repeated 01 is allowed: the axis records 01 at acknowledgement and many
    agency systems also send their own 01.
    """
    rank = new.info.progress_rank
    if rank is None:
        return
    if current is None:
        return
    if current.is_final:
        raise StatusTransition(
            f"status {new.value} after final status {current.value} ({current.info.meaning})"
        )
    if new == current == StatusCode.ARRIVED:
        return
    current_rank = current.info.progress_rank or 0
    if rank <= current_rank:
        raise StatusTransition(
            f"status {new.value} would move the delivery back from {current.value}"
        )


def check_recall_answer(new: StatusCode, recall_pending: bool) -> None:
    """15/16 answer a recall (13) or a revoke/update; without one they are refused."""
    if new in (StatusCode.RECALL_AGREED, StatusCode.RECALL_REFUSED) and not recall_pending:
        raise StatusTransition(f"status {new.value} answers no pending recall or update")
