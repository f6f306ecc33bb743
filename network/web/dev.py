"""Development helpers. ``/dev/mailbox`` shows the e-mails in the outbox, decrypted, when
``MAIL_BACKEND`` is ``mailbox`` (nothing leaves the machine then) and the hub does not run in
production. It needs a logged-in account, except from the machine itself in development, so a
developer can follow a password-reset link while logged out."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from network.crypto import DecryptionError
from network.db import db
from network.extensions import login_manager
from network.models import OutboxMessage
from network.web import current_principal, keyring

bp = Blueprint("dev", __name__, url_prefix="/dev")

_LOOPBACK = {"127.0.0.1", "::1"}


def mailbox_enabled() -> bool:
    config = current_app.config
    return config["MAIL_BACKEND"] == "mailbox" and config["SCHAKEL_ENV"] != "production"


@bp.get("/mailbox")
def mailbox():
    """The newest outbox e-mails, newest first (development only)."""
    if not mailbox_enabled():
        abort(404)
    local_developer = current_app.config["SCHAKEL_ENV"] == "development" and request.remote_addr in _LOOPBACK
    if not (current_principal().is_authenticated or local_developer):
        return login_manager.unauthorized()
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "email")  # not webhooks
                              .order_by(OutboxMessage.created_at.desc()).limit(50)).scalars()
    messages = []
    for row in rows:
        try:
            body = keyring().decrypt(row.body_encrypted, row.body_ref())
        except DecryptionError:
            body = None
        messages.append({"row": row, "body": body})
    return render_template("dev/mailbox.html", messages=messages), 200, {"Cache-Control": "no-store"}
