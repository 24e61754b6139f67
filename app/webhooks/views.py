"""/webhooks/<provider>: a post is verified by its provider's module, then recorded.

No session, no CSRF token (a provider has neither): the signature is the credential. A
provider whose settings are missing answers 404, as if the route were not there. Posts are
rate limited per client, and may be larger than a form (SendGrid batches events).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import csrf, db, limiter
from app.mail import events
from app.webhooks import mailgun, outcomes, postmark, sendgrid, ses
from app.webhooks.verdicts import Refused

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)
PROVIDERS = {module.NAME: module for module in (ses, postmark, sendgrid, mailgun)}
# A provider posts in bursts after a bad send, from a few addresses: far above what a
# person sends, far below a flood.
PER_CLIENT = "600 per minute"
# SendGrid posts batches of up to about 768 KB.
MAX_BODY = 1024 * 1024


@bp.url_value_preprocessor
def _larger_bodies(_endpoint, _values) -> None:
    # Runs before every before_request hook, the app's body check included.
    request.max_content_length = MAX_BODY


@bp.post("/<provider>")
@limiter.limit(PER_CLIENT)
def receive(provider: str):
    module = PROVIDERS.get(provider)
    if module is None or not module.configured(current_app.config):
        abort(404)
    try:
        found = module.read(request)
        outcomes.record(provider, found)
        db.session.commit()
    except Refused as refused:
        db.session.rollback()
        events.notify("webhook", provider=provider, verdict=refused.why)
        response = jsonify(error=refused.why)
        if refused.why == "unsigned" and provider == postmark.NAME:
            response.headers["WWW-Authenticate"] = 'Basic realm="webhooks"'
        return response, refused.status
    except SQLAlchemyError:
        db.session.rollback()
        raise
    events.notify("webhook", provider=provider, verdict="accepted")
    for event in found:
        events.notify("bounce", kind=event.kind, source=provider)
    return jsonify(recorded=len(found))
