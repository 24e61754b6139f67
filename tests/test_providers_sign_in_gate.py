"""The deployment-wide sign-in gate on each database: one sender at a time may try an unproven
sign-in, a failure closes the gate for a doubling step, a success opens it for everyone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app import clock
from app.extensions import db
from app.mail import sign_in_gate
from app.mail.sign_in_gate import SignInGate, admit, passed, refused, release, step

KEY = "smtp.example.com:587 mailer@example.com"


def expire_wait(key: str = KEY) -> None:
    """The step is over (the database's clock moved on): set the next try in the past."""
    past = clock.utcnow() - timedelta(hours=1)
    db.session.execute(update(SignInGate).where(SignInGate.relay == key).values(next_try_at=past))
    db.session.commit()


def test_only_one_sender_may_try_an_unproven_sign_in(app):
    with app.app_context():
        assert admit(KEY, hold=60).admitted
        second = admit(KEY, hold=60)
        assert not second.admitted and second.failures == 0


def test_a_failure_closes_the_gate_for_a_doubling_step(app):
    with app.app_context():
        assert admit(KEY, hold=60).admitted
        assert refused(KEY, "535 5.7.8 bad password", cap=300) == 1.0
        held = admit(KEY, hold=60)
        assert not held.admitted
        assert (held.failures, held.reason) == (1, "535 5.7.8 bad password")
        expire_wait()
        assert admit(KEY, hold=60).admitted
        assert refused(KEY, "535 again", cap=300) == 2.0
        assert not admit(KEY, hold=60).admitted


def test_a_success_lets_every_sender_through_until_the_next_failure(app):
    with app.app_context():
        assert admit(KEY, hold=60).admitted
        passed(KEY)
        assert all(admit(KEY, hold=60) == sign_in_gate.Verdict(True, True) for _ in range(3))
        refused(KEY, "535 changed", cap=300)
        assert not admit(KEY, hold=60).admitted


def test_a_slot_taken_without_reaching_auth_is_released(app):
    with app.app_context():
        assert admit(KEY, hold=60).admitted
        release(KEY)
        assert admit(KEY, hold=60).admitted


def test_steps_double_up_to_the_cap():
    assert [step(n, cap=5) for n in range(1, 6)] == [1, 2, 4, 5, 5]
