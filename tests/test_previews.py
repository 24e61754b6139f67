"""Every email template has a preview rendered by the real composer; the console shows
each one (HTML framed inert, text, MIME source, size). Admin sessions via admin_helpers."""

import re
from pathlib import Path

from app.mail.previews import SAMPLE_ADDRESS, SAMPLES, render_preview, template_names
from tests.admin_helpers import admin_client, outbox_count

EMAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"


def templates_on_disk() -> set[str]:
    return {
        path.stem
        for path in EMAIL_TEMPLATES.iterdir()
        if path.suffix in (".txt", ".html") and not path.stem.startswith("_")
    }


def test_every_email_template_has_a_preview(app):
    on_disk = templates_on_disk()
    assert "test_email" in on_disk
    missing = sorted(on_disk - set(SAMPLES))
    assert not missing, f"add sample data for {missing} to app/mail/previews.py"
    with app.app_context():
        assert set(template_names()) == on_disk


def test_every_preview_renders_both_parts_with_its_links(app):
    with app.app_context():
        for name in templates_on_disk():
            preview = render_preview(name)
            assert preview.mail.subject, name
            assert preview.mail.recipient == SAMPLE_ADDRESS
            assert preview.mail.text.strip() and preview.mail.html.strip(), name
            links = [v for v in preview.context.values() if str(v).startswith("https://")]
            for link in links:
                # Both parts must say the same thing: every link in each.
                assert link in preview.mail.text, (name, link)
                assert link.replace("&", "&amp;") in preview.mail.html, (name, link)
                assert link.startswith("https://mailroom.example/"), (name, link)


def test_previews_page_lists_every_template_with_its_size(app):
    page = admin_client(app).get("/admin/mail/previews").get_data(as_text=True)
    for name in templates_on_disk():
        assert f'href="/admin/mail/previews/{name}"' in page
    assert re.search(r"<td[^>]*>[\d,]+ bytes</td>", page)
    assert "No sample data" not in page


def test_preview_page_shows_html_frame_text_source_and_size(app):
    page = admin_client(app).get("/admin/mail/previews/test_email").get_data(as_text=True)
    assert "<h1>Mailroom test email</h1>" in page
    frame = (
        '<iframe class="email-frame" data-fit sandbox="allow-same-origin" '
        'src="/admin/mail/previews/test_email/html"'
    )
    assert frame in page
    assert "This is a test email from Mailroom." in page
    assert "Content-Type: multipart/alternative" in page
    assert "Message-ID: &lt;" in page
    assert re.search(r"<dt>Size</dt><dd>[\d,]+ bytes</dd>", page)
    assert outbox_count(app) == 0


def test_preview_html_is_served_inert(app):
    response = admin_client(app).get("/admin/mail/previews/test_email/html")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("sandbox allow-same-origin;")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert "Mailroom test email" in response.get_data(as_text=True)


def test_unknown_or_layout_templates_have_no_preview(app):
    client = admin_client(app)
    for name in ("no_such_template", "_layout", "..%2Fbase"):
        assert client.get(f"/admin/mail/previews/{name}").status_code == 404
        assert client.get(f"/admin/mail/previews/{name}/html").status_code == 404
