"""The own notifications (``/meldingen``): newest first, unread marked, open one (marks it
read and goes to what it is about), mark one or all read, and choose e-mail at once or a daily
digest. Every account sees only its own notifications (object level: the account id)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select

from network.clock import utcnow
from network.db import db
from network.notifications import (
    Notification,
    NotificationMode,
    get_mode,
    list_notifications,
    mark_read,
    set_mode,
    unread_count,
)
from network.schemas import FormSchema
from network.web import current_principal, local_path, login_required_view, redirect_to, submit

bp = Blueprint("notifications", __name__, url_prefix="/meldingen")

MODE_LABELS = {
    NotificationMode.immediate.value: _l("Direct: een e-mail bij elke melding"),
    NotificationMode.digest.value: _l("Eén keer per dag: een overzicht van alle nieuwe meldingen"),
}
#: how many notifications the page shows (the newest)
LIMIT = 100


class NotificationSettingsArgs(FormSchema):
    mode = fields.String(required=True, validate=validate.OneOf(list(MODE_LABELS),
                                                                 error=_l("Kies hoe u meldingen wilt ontvangen.")))


@bp.app_context_processor
def _unread_in_nav():
    """``unread_notifications()`` for the menu: one COUNT, only when a page renders the menu."""

    def unread_notifications() -> int:
        principal = current_principal()
        return unread_count(db.session, principal.account_id) if principal.is_authenticated else 0

    return {"unread_notifications": unread_notifications}


def _page(*, values=None, errors=None, status=200):
    principal = current_principal()
    items = list_notifications(db.session, principal.account_id, limit=LIMIT)
    mode = get_mode(db.session, principal.account_id)
    return render_template("network/notifications/index.html", items=items,
                           unread=sum(1 for n in items if n.read_at is None),
                           values=values or {"mode": mode.value}, errors=errors or {},
                           mode_options=list(MODE_LABELS.items()), mode=mode), status


@bp.get("/")
@login_required_view
def index():
    return _page()


def _notification_id() -> int:
    """The id posted by a list item's button; a missing or mangled one is a bad request."""
    value = request.form.get("id", "")
    if not value.isdigit():
        abort(400)
    return int(value)


@bp.post("/gelezen")
@login_required_view
def read():
    mark_read(db.session, current_principal().account_id, [_notification_id()], now=utcnow())
    return redirect_to("notifications.index", _("De melding is als gelezen gemarkeerd."))


@bp.post("/alles-gelezen")
@login_required_view
def read_all():
    count = mark_read(db.session, current_principal().account_id, now=utcnow())
    message = _("Alle meldingen zijn als gelezen gemarkeerd.") if count else _("Er waren geen ongelezen meldingen.")
    return redirect_to("notifications.index", message)


@bp.post("/openen")
@login_required_view
def open_notification():
    """Mark one of the own notifications read and go to what it is about (another account's
    notification does not exist here)."""
    account_id = current_principal().account_id
    item = db.session.scalar(select(Notification).where(Notification.id == _notification_id(),
                                                        Notification.account_id == account_id))
    if item is None:
        abort(404)
    mark_read(db.session, account_id, [item.id], now=utcnow())
    link = local_path(item.link)
    if link is None:
        return redirect(url_for("notifications.index"))
    return redirect(link, 303)


@bp.post("/instellingen")
@login_required_view
def settings():
    account_id = current_principal().account_id
    _result, errors = submit(NotificationSettingsArgs, request.form,
                             lambda data: set_mode(db.session, account_id, data["mode"]))
    if errors:
        return _page(values=request.form, errors=errors, status=400)
    mode = get_mode(db.session, account_id)
    flash(_("U krijgt meldingen nu direct per e-mail.") if mode is NotificationMode.immediate
          else _("U krijgt voortaan één keer per dag een overzicht per e-mail."), "success")
    return redirect(url_for("notifications.index"))
