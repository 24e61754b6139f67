"""A sender records each delivered message before it delivers the next: on PostgreSQL the
sent-mark's commit overlaps the next message's MAIL FROM and RCPT TO, never its DATA, so a
crash can re-send at most the one message delivered and not yet recorded."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from app.mail.models import OutboxMessage
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored

MESSAGES = 30


def test_each_delivery_is_recorded_before_the_same_sender_delivers_the_next(
    make_app, smtp, senders, database_url
):
    app = make_app(MAIL_PORT=smtp.port, MAIL_BATCH_SIZE=MESSAGES)
    ids = queue(app, *(f"reader{i}@example.org" for i in range(MESSAGES)))
    engine = create_engine(database_url)
    statuses = select(OutboxMessage.message_id, OutboxMessage.status)
    accepted_before = {}  # peer (one sender's connection) -> Message-IDs it delivered
    unrecorded = []  # (Message-ID offered, earlier delivery not yet marked sent)
    handler = smtp.handler
    accept = handler.handle_DATA

    async def check_then_accept(server, session, envelope):
        # The server holds this message's DATA now; what it accepted before on the same
        # connection must already be marked sent by the sender that sent it.
        earlier = accepted_before.setdefault(session.peer, [])
        if earlier:
            with engine.connect() as connection:
                status = dict(connection.execute(statuses).all())
            offered = envelope.original_content
            unrecorded.extend((offered, m) for m in earlier if status[m] != "sent")
        reply = await accept(server, session, envelope)
        earlier.append(handler.messages[-1].message_id)
        return reply

    handler.handle_DATA = check_then_accept
    try:
        senders(app, threads=1)
        wait_for(lambda: all(stored(app, i).status == "sent" for i in ids), timeout=60)
    finally:
        engine.dispose()
    assert len(smtp.messages) == MESSAGES
    assert sum(len(found) for found in accepted_before.values()) == MESSAGES
    assert unrecorded == []
