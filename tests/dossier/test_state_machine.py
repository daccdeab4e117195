"""Property-based: random action sequences against the dossier rules on a real database.

The transition table is written out here on its own (from DOMAIN §3), so the test fixes it rather
than reading it back from the code under test. Invariants: no status outside the table, history
monotonic in business time, exactly one event per accepted change and none for a refused one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from contracts.events import parse_event
from lgsp_kit.access import OrganScope
from lgsp_kit.db import Database, upgrade
from lgsp_kit.errors import ProblemError
from services.dossier.dossiers import repository, service
from services.dossier.dossiers.schemas import DossierCreate, PaymentCreate, StatusChange
from services.dossier.main import MIGRATIONS
from services.dossier.models import outbox
from services.dossier.procedures.service import seed_demo_catalogue

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The rules alone: no organ scope (as with authentication switched off).
ANY_ORGAN = OrganScope(organ=None)
ALLOWED = {
    1: {2, 3, 7},
    2: {4, 5, 6, 7, 8, 9},
    3: set(),
    4: {5, 6, 7, 8, 9},
    5: {4, 7, 8},
    6: {4, 7, 8, 9},
    7: {8},
    8: set(),
    9: {10},
    10: set(),
}
# procedure → (fee bearing, online payment)
PROCEDURES = {"1.001193": (False, False), "2.000884": (True, False), "1.004873": (True, True)}
BASE = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)


def machine_for(db: Database) -> type[RuleBasedStateMachine]:
    class DossierRules(RuleBasedStateMachine):
        dossiers = Bundle("dossiers")

        def __init__(self) -> None:
            super().__init__()
            self.status: dict[str, int] = {}
            self.last_at: dict[str, datetime] = {}
            self.procedure: dict[str, str] = {}
            self.submitted_at: dict[str, datetime] = {}

        def outbox_size(self) -> int:
            with db.engine.connect() as conn:
                n: int = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
                return n

        def last_event(self) -> object:
            with db.engine.connect() as conn:
                raw = conn.execute(
                    select(outbox.c.payload).order_by(outbox.c.seq.desc()).limit(1)
                ).scalar_one()
            return parse_event(raw)

        @initialize()
        def start(self) -> None:
            self.events_before = self.outbox_size()

        @rule(
            target=dossiers,
            procedure=st.sampled_from(sorted(PROCEDURES)),
            minutes=st.integers(0, 60 * 24 * 30),
        )
        def submit(self, procedure: str, minutes: int) -> str:
            at = BASE + timedelta(minutes=minutes)
            body = DossierCreate.model_validate(
                {
                    "procedure_code": procedure,
                    "organ_code": "000.01.31.H03",
                    "channel": 2,
                    "applicant": {"type": 1, "name": "Phạm Văn Bình", "identifier": "1"},
                    "submitted_at": at,
                }
            )
            before = self.outbox_size()
            with db.session() as session:
                code = service.submit(session, body, tz=TZ, actor="prop", scope=ANY_ORGAN).code
            assert self.outbox_size() == before + 1
            self.status[code], self.last_at[code] = 1, at
            self.procedure[code], self.submitted_at[code] = procedure, at
            return code

        @rule(
            code=dossiers,
            to=st.integers(1, 10),
            minutes=st.one_of(st.integers(-600, 60 * 24 * 10), st.just(10**8)),
        )
        def change(self, code: str, to: int, minutes: int) -> None:
            at = self.last_at[code] + timedelta(minutes=minutes)
            legal = to in ALLOWED[self.status[code]]
            in_time = 0 <= minutes < 10**8
            before = self.outbox_size()
            try:
                with db.session() as session:
                    out = service.change_status(
                        session,
                        code,
                        StatusChange(status=to, at=at),
                        tz=TZ,
                        actor="prop",
                        scope=ANY_ORGAN,
                    )
            except ProblemError as exc:
                assert not (legal and in_time), exc.detail
                # An illegal move or a time before the last change: the dossier's state
                # refuses it (409); a legal move in the future: the request is wrong (422).
                assert exc.status == (409 if not legal or minutes < 0 else 422)
                assert self.outbox_size() == before
                return
            assert legal and in_time
            assert out.status == to
            assert self.outbox_size() == before + 1
            event = self.last_event()
            assert getattr(event, "type", "") == "lgsp.dossier.status_changed"
            data = event.data  # type: ignore[attr-defined]
            assert (data.from_status, data.to_status, data.at) == (self.status[code], to, at)
            self.status[code], self.last_at[code] = to, at

        @rule(
            code=dossiers,
            online=st.booleans(),
            minutes=st.one_of(st.integers(-60, 60 * 24 * 10), st.just(10**8)),
        )
        def pay(self, code: str, online: bool, minutes: int) -> None:
            at = self.submitted_at[code] + timedelta(minutes=minutes)
            fee, online_ok = PROCEDURES[self.procedure[code]]
            accepted = (
                fee
                and (online_ok or not online)
                and self.status[code] not in {3, 7, 8}
                and 0 <= minutes < 10**8
            )
            body = PaymentCreate.model_validate(
                {"amount": 1000, "method": "online", "online_gateway": 1, "at": at}
                if online
                else {"amount": 1000, "method": "offline", "at": at}
            )
            before = self.outbox_size()
            try:
                with db.session() as session:
                    service.record_payment(session, code, body, scope=ANY_ORGAN)
            except ProblemError as exc:
                assert not accepted, exc.detail
                assert self.outbox_size() == before
                return
            assert accepted
            assert self.outbox_size() == before + 1

        @invariant()
        def stored_state_follows_the_table(self) -> None:
            with db.session() as session:
                for code, status in self.status.items():
                    dossier = repository.by_code(session, code)
                    assert dossier is not None and dossier.id is not None
                    assert dossier.status == status
                    history = repository.history_of(session, dossier.id)
                    assert history[0].from_status is None and history[0].to_status == 1
                    for prev, cur in pairwise(history):
                        assert cur.from_status == prev.to_status
                        assert cur.to_status in ALLOWED[prev.to_status]
                        assert cur.at >= prev.at
                    assert history[-1].to_status == status
                    # The 766 rules: never received, never judged; asked twice, late.
                    if dossier.received_at is None:
                        assert dossier.on_time is None
                    elif dossier.supplement_requests > 1:
                        assert dossier.on_time is False
                    asked = sum(h.to_status == 5 for h in history)
                    assert dossier.supplement_requests == asked

    return DossierRules


def test_random_action_sequences_keep_the_invariants(database_url: str) -> None:
    upgrade(MIGRATIONS, database_url)
    db = Database(database_url)
    try:
        with db.session() as session:
            seed_demo_catalogue(session)
        run_state_machine_as_test(
            machine_for(db),
            settings=settings(
                max_examples=25,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        db.dispose()
