"""The TrangThaiHoSo state machine and the clock of a dossier (due date, pause, on time).

Pure rules, no storage: an interactive change and a batch-synced history go through the same
`apply_status`, so both produce the same facts and the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.reference import ProcessingUnit
from lgsp_kit.errors import Conflict, invalid
from lgsp_kit.workcalendar import due_at, resume
from services.dossier.dossiers.ontime import Timeline, verdict

SUBMITTED, RECEIVED, REFUSED, PROCESSING, SUPPLEMENT = 1, 2, 3, 4, 5
PAYMENT_REQUESTED, WITHDRAWN, STOPPED, RESOLVED, RETURNED = 6, 7, 8, 9, 10

STATUS_NAMES: dict[int, str] = {
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}

# The only allowed moves; a status with no way out is final.
TRANSITIONS: dict[int, frozenset[int]] = {
    SUBMITTED: frozenset({RECEIVED, REFUSED, WITHDRAWN}),
    RECEIVED: frozenset({PROCESSING, SUPPLEMENT, PAYMENT_REQUESTED, WITHDRAWN, STOPPED, RESOLVED}),
    REFUSED: frozenset(),
    PROCESSING: frozenset({SUPPLEMENT, PAYMENT_REQUESTED, WITHDRAWN, STOPPED, RESOLVED}),
    SUPPLEMENT: frozenset({PROCESSING, WITHDRAWN, STOPPED}),
    PAYMENT_REQUESTED: frozenset({PROCESSING, WITHDRAWN, STOPPED, RESOLVED}),
    # The applicant asks to withdraw; the organ then stops handling (Dừng xử lý).
    WITHDRAWN: frozenset({STOPPED}),
    STOPPED: frozenset(),
    RESOLVED: frozenset({RETURNED}),
    RETURNED: frozenset(),
}
# The end of handling (766, indicator 2.1): the first of these after reception decides whether
# the dossier was on time (`ontime`); refused at reception (3) ends a dossier never received.
END_OF_HANDLING = frozenset({RESOLVED, RETURNED, STOPPED, WITHDRAWN, REFUSED})
# No payment is taken for a dossier refused, withdrawn or stopped.
CLOSED_TO_PAYMENT = frozenset({REFUSED, WITHDRAWN, STOPPED})
CLOCK_SKEW = timedelta(seconds=60)


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, from_status: int, to_status: int) -> None:
        allowed = sorted(TRANSITIONS[from_status])
        names = ", ".join(f"{s} ({STATUS_NAMES[s]})" for s in allowed) or "none, it is final"
        super().__init__(
            f"a dossier in status {from_status} ({STATUS_NAMES[from_status]}) cannot move to "
            f"{to_status}; allowed next statuses: {names}",
            extra={"from_status": from_status, "to_status": to_status, "allowed": allowed},
        )


def check_time(at: datetime, *, not_before: datetime, now: datetime, field: str) -> None:
    """Business time is never in the future and never before the last known fact."""
    if at > now + CLOCK_SKEW:
        raise invalid(
            field, "in the future", detail=f"{field} is in the future", code="time_in_future"
        )
    if at < not_before:
        raise Conflict(
            f"{field} {at.isoformat()} is before the dossier's last change "
            f"{not_before.isoformat()}",
            code="time_goes_backwards",
        )


@dataclass
class Clock:
    """What the rules need to know about a dossier between two changes."""

    status: int
    submitted_at: datetime
    last_at: datetime
    processing_days: int
    processing_unit: ProcessingUnit = "working_day"
    received_at: datetime | None = None
    due_at: datetime | None = None
    paused_since: datetime | None = None
    resolved_at: datetime | None = None
    returned_at: datetime | None = None
    on_time: bool | None = None
    paid_online: bool = False
    supplement_requests: int = 0


@dataclass(frozen=True)
class Change:
    """An accepted status change, as the event tells it."""

    from_status: int
    to_status: int
    at: datetime
    due_at: datetime | None
    on_time: bool | None
    paid_online: bool | None


def apply_status(
    clock: Clock, to_status: int, at: datetime, *, now: datetime, tz: ZoneInfo
) -> Change:
    """Move `clock` to `to_status` at business time `at`, or refuse (409 / 422)."""
    if to_status not in TRANSITIONS[clock.status]:
        raise IllegalTransition(clock.status, to_status)
    check_time(at, not_before=clock.last_at, now=now, field="at")
    from_status = clock.status
    if clock.paused_since is not None and to_status != SUPPLEMENT:
        # Waiting for a supplement does not count: the due date moves by the time waited.
        if clock.due_at is not None:
            clock.due_at = resume(clock.due_at, clock.paused_since, at, clock.processing_unit, tz)
        clock.paused_since = None
    if to_status == RECEIVED:
        clock.received_at = at
        clock.due_at = due_at(at, clock.processing_days, clock.processing_unit, tz)
    elif to_status == SUPPLEMENT:
        clock.paused_since = at
        clock.supplement_requests += 1
    elif to_status == RESOLVED:
        clock.resolved_at = at
    elif to_status == RETURNED:
        clock.returned_at = at
    ends = to_status in END_OF_HANDLING and from_status not in END_OF_HANDLING
    on_time: bool | None = None
    if from_status not in END_OF_HANDLING:
        # The verdict as of this change: final at the end of handling, provisional while
        # waiting for a supplement, none while in handling; later ends (9 → 10, 7 → 8) keep it.
        clock.on_time = verdict(
            Timeline(
                received_at=clock.received_at,
                due_at=clock.due_at,
                ended_at=at if ends else None,
                waiting_since=clock.paused_since,
                supplement_requests=clock.supplement_requests,
            )
        )
        if ends or to_status == SUPPLEMENT:
            on_time = clock.on_time
    clock.status = to_status
    clock.last_at = at
    return Change(
        from_status=from_status,
        to_status=to_status,
        at=at,
        due_at=clock.due_at,
        on_time=on_time,
        paid_online=clock.paid_online if to_status == RESOLVED else None,
    )


def check_payment(clock: Clock, at: datetime, *, now: datetime) -> None:
    """A payment is taken while the dossier is open, at a time after its submission."""
    if clock.status in CLOSED_TO_PAYMENT:
        raise Conflict(
            f"a dossier in status {clock.status} ({STATUS_NAMES[clock.status]}) takes no payment",
            code="dossier_closed",
        )
    if at > now + CLOCK_SKEW:
        raise invalid("at", "in the future", detail="at is in the future", code="time_in_future")
    if at < clock.submitted_at:
        raise Conflict(
            "at is before the dossier was submitted",
            code="time_goes_backwards",
        )
