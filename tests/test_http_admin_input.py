"""Admin pages never answer 500 to what a URL can carry: ids past any real one, page cursors
past any real one, a NUL in the address filter. Both databases: PostgreSQL refuses NUL and
integers past its column types, SQLite past 64 bits."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.mail import send_email
from tests.admin_helpers import admin_client, post_form

HUGE = "99999999999999999999"


@pytest.fixture
def admin(app):
    with app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.commit()
    return admin_client(app)


@pytest.mark.parametrize("path", [f"/admin/mail/outbox/{HUGE}", f"/admin/mail/outbox/{HUGE}/html"])
def test_an_id_no_message_can_have_is_a_404(admin, path):
    response = admin.get(path)
    assert response.status_code == 404
    assert "There is no page here." in response.get_data(as_text=True)


def test_retrying_an_id_no_message_can_have_is_a_404(admin):
    assert post_form(admin, f"/admin/mail/outbox/{HUGE}/retry").status_code == 404


@pytest.mark.parametrize(
    "query",
    [f"page={HUGE}", f"before={HUGE}", f"after={HUGE}", "before=-5", "after=-5", "before=x"],
)
def test_a_page_cursor_past_any_message_still_answers_a_page(admin, query):
    response = admin.get(f"/admin/mail/outbox?{query}")
    assert response.status_code == 200
    assert "Outbox" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["q=a%00b", "q=a%0Ab", "status=queued&q=%00"])
def test_control_characters_in_the_address_filter_are_a_400(admin, query):
    response = admin.get(f"/admin/mail/outbox?{query}")
    assert response.status_code == 400
    assert "That status or address filter is not valid." in response.get_data(as_text=True)
