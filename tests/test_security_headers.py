"""Every page carries the security headers; production adds HSTS and Secure cookies."""

from tests.conftest import csrf_token


def test_pages_send_security_headers(client):
    for path in ("/", "/signup", "/login", "/reset-password", "/reset-password/bogus", "/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_no_hsts_or_secure_cookie_off_production(client):
    response = client.get("/signup")
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_production_adds_hsts_and_secure_cookies(make_app):
    # Production refuses a guessable key: this one is what secrets.token_hex(16) gives.
    key = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c"
    app = make_app(APP_ENV="production", SECRET_KEY=key, MAIL_SENDER_THREADS=0)
    response = app.test_client().get("/signup", base_url="https://mailroom.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_csrf_passes_over_https_with_the_same_origin_referer(client):
    # Referrer-Policy same-origin keeps this Referer: Flask-WTF's HTTPS check needs it.
    base = "https://mailroom.example"
    page = client.get("/reset-password", base_url=base)
    response = client.post(
        "/reset-password",
        base_url=base,
        data={"csrf_token": csrf_token(page.text), "email": "ada@example.com"},
        headers={"Referer": f"{base}/reset-password"},
    )
    assert response.status_code == 302
    no_referer = client.post(
        "/reset-password",
        base_url=base,
        data={"csrf_token": csrf_token(page.text), "email": "ada@example.com"},
    )
    assert no_referer.status_code == 400
