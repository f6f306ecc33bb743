"""Beheer: webhooks that could not be delivered (``/beheer/webhooks/onbestelbaar``).

A webhook message that kept failing until ``OUTBOX_MAX_ATTEMPTS`` is ``dead``. The hub admin
sees those of live subscriptions and sends one again (same ``webhook-id``, attempts from zero),
for instance after the partner fixed its receiver. Works without JavaScript: one small form
per message.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from network.db import db
from network.errors import Conflict
from network.permissions import Permission
from network.web import current_principal, redirect_to, require
from network.webhooks import list_dead_letters, replay_dead_letter

bp = Blueprint("webhooks_admin", __name__, url_prefix="/beheer")


def _page(error: str | None = None, status: int = 200):
    return render_template("admin/webhook_dead_letters.html", error=error,
                           dead=list_dead_letters(db.session, current_principal())), status


@bp.get("/webhooks/onbestelbaar")
@require(Permission.outbox_view)
def dead_letters():
    return _page()


@bp.post("/webhooks/onbestelbaar/opnieuw")
@require(Permission.outbox_view)
def replay():
    message_id = (request.form.get("message_id") or "").strip()
    if not message_id:
        return _page(_("Kies het bericht dat opnieuw verstuurd moet worden."), 400)
    try:
        replay_dead_letter(db.session, current_principal(), message_id)
    except Conflict as exc:  # already sent again (a double click), or its subscription ended meanwhile
        db.session.rollback()
        flash(exc.detail or _("Dit bericht kan niet opnieuw worden verstuurd."), "error")
        return redirect(url_for("webhooks_admin.dead_letters"), 303)
    return redirect_to("webhooks_admin.dead_letters", _("Het bericht wordt opnieuw verstuurd."))
