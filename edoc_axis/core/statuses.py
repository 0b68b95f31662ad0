"""Which status may follow which, per recipient of a document (pure).

Progress runs 01 → 03 (or 02) → 04 → 05 → 06; steps may be skipped, a status
never moves a delivery backwards, and 02 and 06 are final. The recall
conversation (13 from the sender, 15/16 from a recipient) runs beside it, in
rounds: each 13 (and each revoke or update delivered) waits for exactly one
answer, and a new 13 after the answer opens the next round.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from edoc_axis.edxml import StatusCode
from edoc_axis.edxml.codes import StatusSender
from edoc_axis.errors import SignatureMissing, StatusNotAllowed, StatusTransition


def check_sender_role(code: StatusCode, *, is_sender: bool, is_recipient: bool) -> None:
    """Refuse a code the caller's role may not send (13 is the sender's, the rest recipients')."""
    needed = code.info.sender
    if needed == StatusSender.ORIGINAL_SENDER and not is_sender:
        raise StatusNotAllowed(f"status {code.value} may only be sent by the document's sender")
    if needed == StatusSender.RECIPIENT and not is_recipient:
        raise StatusNotAllowed(f"status {code.value} may only be sent by a recipient")


def check_signed_by_policy(
    code: StatusCode, *, signed: bool, required: Collection[str], allow_legacy: bool
) -> None:
    """The one rule for unsigned statuses: ``[security] require_signed_statuses``.

    A status whose code is in ``required`` (by default 02, 06, 13, 15, 16: the
    ones that end or undo a document's handling, which a bearer token alone
    must not decide) is refused unsigned; the legacy policy (``allow_legacy``)
    accepts the reference SDK's unsigned ones. Every status intake, whatever
    its transport, applies it before storing a status.
    """
    if not signed and code.value in required and not allow_legacy:
        raise SignatureMissing(
            f"status {code.value} must be signed by the sending agency "
            "([security] require_signed_statuses)"
        )


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


@dataclass(frozen=True, slots=True)
class RecallEvent:
    """One step of the recall conversation between a sender and one recipient.

    ``code`` is "13", "15" or "16" for a status, "revoke" or "update" for a
    business message that asks the recipient for an answer. ``ref`` is the
    status id or the message's axis id.
    """

    at: datetime
    code: str
    ref: str
    stored_round: int | None = None

    @property
    def is_answer(self) -> bool:
        return self.code in (StatusCode.RECALL_AGREED.value, StatusCode.RECALL_REFUSED.value)


@dataclass(frozen=True, slots=True)
class RecallRound:
    """Questions (a 13, a revoke, an update) waiting for one answer (15 or 16)."""

    number: int
    questions: tuple[RecallEvent, ...]
    answer: RecallEvent | None = None
    # Only in data stored before answers were limited to one per round.
    extra_answers: tuple[RecallEvent, ...] = ()

    @property
    def state(self) -> str:
        if self.answer is None:
            return "pending"
        return "agreed" if self.answer.code == StatusCode.RECALL_AGREED.value else "refused"


def recall_rounds(events: Sequence[RecallEvent]) -> list[RecallRound]:
    """Number the conversation into rounds, in the order the events happened.

    A question opens a round unless one is open (then it joins it); the first
    answer closes the round. An answer with no open round can only come from
    data stored before the rule; it is kept on the round it followed.
    """
    rounds: list[RecallRound] = []
    for event in sorted(events, key=lambda e: e.at):
        current = rounds[-1] if rounds else None
        if not event.is_answer:
            if current is not None and current.answer is None:
                rounds[-1] = replace(current, questions=(*current.questions, event))
            else:
                rounds.append(RecallRound(len(rounds) + 1, (event,)))
        elif current is not None and current.answer is None:
            rounds[-1] = replace(current, answer=event)
        elif current is not None:
            rounds[-1] = replace(current, extra_answers=(*current.extra_answers, event))
    return rounds


def round_for(code: StatusCode, rounds: Sequence[RecallRound]) -> int:
    """The round a new 13, 15 or 16 belongs to, or ``StatusTransition``.

    A 13 opens the next round and is refused while a round waits for its
    answer; a 15 or 16 answers the open round and is refused without one (a
    second answer included).
    """
    open_round = rounds[-1] if rounds and rounds[-1].answer is None else None
    if code == StatusCode.RECALL_REQUEST:
        if open_round is not None:
            raise StatusTransition(
                f"round {open_round.number} (asked {_asked(open_round)}) still waits for its "
                "answer (15 or 16); send a new 13 after it is answered"
            )
        return len(rounds) + 1
    if open_round is None:
        if rounds:
            last = rounds[-1]
            raise StatusTransition(
                f"status {code.value}: round {last.number} was already answered with "
                f"{last.answer.code if last.answer else '?'}; one answer per recall or update"
            )
        raise StatusTransition(f"status {code.value} answers no pending recall or update")
    return open_round.number


def _asked(round_: RecallRound) -> str:
    first = round_.questions[0]
    what = "recall 13" if first.code == StatusCode.RECALL_REQUEST.value else first.code
    return f"by {what} at {first.at.isoformat()}"
