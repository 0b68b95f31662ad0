"""The per-recipient status state machine as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edoc_axis.config import SIGNED_STATUSES_DEFAULT
from edoc_axis.core.statuses import (
    RecallEvent,
    check_progress,
    check_sender_role,
    check_signed_by_policy,
    recall_rounds,
    round_for,
)
from edoc_axis.edxml import StatusCode as S
from edoc_axis.errors import SignatureMissing, StatusNotAllowed, StatusTransition

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


T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _event(minute: int, code: str) -> RecallEvent:
    return RecallEvent(T0 + timedelta(minutes=minute), code, f"ref-{minute}")


def test_recall_answers_need_a_pending_recall() -> None:
    with pytest.raises(StatusTransition, match="answers no pending"):
        round_for(S.RECALL_REFUSED, [])
    assert round_for(S.RECALL_REQUEST, []) == 1
    assert round_for(S.RECALL_AGREED, recall_rounds([_event(0, "13")])) == 1


def test_one_answer_per_round_and_a_new_13_opens_the_next() -> None:
    answered = recall_rounds([_event(0, "13"), _event(1, "16")])
    assert [(r.number, r.state) for r in answered] == [(1, "refused")]
    with pytest.raises(StatusTransition, match="already answered with 16"):
        round_for(S.RECALL_AGREED, answered)
    assert round_for(S.RECALL_REQUEST, answered) == 2
    second = recall_rounds([_event(0, "13"), _event(1, "16"), _event(2, "13"), _event(3, "15")])
    assert [(r.number, r.state) for r in second] == [(1, "refused"), (2, "agreed")]


def test_a_13_waits_for_the_open_round_and_business_messages_join_it() -> None:
    rounds = recall_rounds([_event(0, "revoke"), _event(1, "update")])
    assert [(r.number, len(r.questions), r.state) for r in rounds] == [(1, 2, "pending")]
    with pytest.raises(StatusTransition, match="still waits for its answer"):
        round_for(S.RECALL_REQUEST, rounds)
    assert round_for(S.RECALL_REFUSED, rounds) == 1


def test_answers_from_before_the_rule_are_kept_on_their_round() -> None:
    rounds = recall_rounds([_event(0, "13"), _event(1, "16"), _event(2, "15")])
    assert len(rounds) == 1
    assert rounds[0].answer is not None and rounds[0].answer.code == "16"
    assert [e.code for e in rounds[0].extra_answers] == ["15"]


@pytest.mark.parametrize("code", ["02", "06", "13", "15", "16"])
def test_a_status_that_ends_or_undoes_handling_is_refused_unsigned_by_default(code: str) -> None:
    with pytest.raises(SignatureMissing, match="require_signed_statuses"):
        check_signed_by_policy(
            S(code), signed=False, required=SIGNED_STATUSES_DEFAULT, allow_legacy=False
        )
    check_signed_by_policy(
        S(code), signed=True, required=SIGNED_STATUSES_DEFAULT, allow_legacy=False
    )


@pytest.mark.parametrize("code", ["01", "03", "04", "05"])
def test_progress_statuses_may_come_unsigned_by_default(code: str) -> None:
    check_signed_by_policy(
        S(code), signed=False, required=SIGNED_STATUSES_DEFAULT, allow_legacy=False
    )


def test_the_legacy_policy_and_an_empty_list_accept_unsigned_statuses() -> None:
    check_signed_by_policy(
        S.RECALL_REQUEST, signed=False, required=SIGNED_STATUSES_DEFAULT, allow_legacy=True
    )
    check_signed_by_policy(S.RECALL_REQUEST, signed=False, required=(), allow_legacy=False)
