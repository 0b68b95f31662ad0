"""The per-recipient status state machine as a table."""

from __future__ import annotations

import pytest

from edoc_axis.core.statuses import check_progress, check_recall_answer, check_sender_role
from edoc_axis.edxml import StatusCode as S
from edoc_axis.errors import StatusNotAllowed, StatusTransition

ALLOWED = [
    (None, S.ARRIVED),
    (None, S.ACCEPTED),
    (S.ARRIVED, S.ARRIVED),
    (S.ARRIVED, S.ACCEPTED),
    (S.ARRIVED, S.REFUSED),
    (S.ACCEPTED, S.ASSIGNED),
    (S.ACCEPTED, S.FINISHED),
    (S.ASSIGNED, S.PROCESSING),
    (S.PROCESSING, S.FINISHED),
    (S.FINISHED, S.RECALL_REFUSED),  # the recall conversation is not progress
]
REFUSED = [
    (S.ACCEPTED, S.ARRIVED),
    (S.ACCEPTED, S.ACCEPTED),
    (S.ACCEPTED, S.REFUSED),
    (S.PROCESSING, S.ASSIGNED),
    (S.REFUSED, S.ACCEPTED),
    (S.REFUSED, S.ARRIVED),
    (S.FINISHED, S.PROCESSING),
    (S.FINISHED, S.FINISHED),
]


@pytest.mark.parametrize(("current", "new"), ALLOWED)
def test_allowed_transitions(current: S | None, new: S) -> None:
    check_progress(current, new)


@pytest.mark.parametrize(("current", "new"), REFUSED)
def test_refused_transitions(current: S, new: S) -> None:
    with pytest.raises(StatusTransition) as caught:
        check_progress(current, new)
    assert caught.value.code == "status.transition"


@pytest.mark.parametrize("code", [S.ARRIVED, S.ACCEPTED, S.FINISHED, S.RECALL_AGREED])
def test_recipient_codes_refused_from_the_sender(code: S) -> None:
    check_sender_role(code, is_sender=False, is_recipient=True)
    with pytest.raises(StatusNotAllowed):
        check_sender_role(code, is_sender=True, is_recipient=False)


def test_recall_request_is_the_senders() -> None:
    check_sender_role(S.RECALL_REQUEST, is_sender=True, is_recipient=False)
    with pytest.raises(StatusNotAllowed):
        check_sender_role(S.RECALL_REQUEST, is_sender=False, is_recipient=True)


def test_recall_answers_need_a_pending_recall() -> None:
    check_recall_answer(S.RECALL_AGREED, recall_pending=True)
    with pytest.raises(StatusTransition):
        check_recall_answer(S.RECALL_REFUSED, recall_pending=False)
    check_recall_answer(S.ACCEPTED, recall_pending=False)
