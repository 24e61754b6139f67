"""Form limits inside the app: too many parts, or a body no view reads, get the site's 413
page (the streamed, gunicorn side is in test_http_body_size.py)."""

from __future__ import annotations

import io


def test_a_form_with_too_many_parts_gets_413(client):
    fields = {f"field{n}": "x" for n in range(60)}  # a few hundred bytes, but 60 parts
    response = client.post("/login", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "What you sent is too large for the forms" in page
    assert "<title>Too much to send · Mailroom</title>" in page


def test_an_oversized_body_to_a_view_that_never_reads_it_gets_413(client):
    body = io.BytesIO(b"x" * (65 * 1024))
    response = client.get("/", input_stream=body, headers={"Content-Length": str(65 * 1024)})
    assert response.status_code == 413
