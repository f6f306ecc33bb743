"""The school's side of a referral (``/verwijzingen``, ``/verwijzingen/<id>``): the list of sent
referrals with filters and cursor pagination, and the referral's page: status, receiver, owner,
deadlines, reminders and escalations, the hand-over packet as the school sees it, the timeline,
and what the school can do now (record the warm hand-over, post an update, cancel, mark as
entered in error). Each change carries the version the user saw (``expected_version``): a
change by someone else in between is shown, never overwritten.

Registered on :data:`referrals.blueprint.bp`, with :mod:`referrals.views`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from consent.models import DataCategory
from network.access import Category, decide
from network.db import db
from network.errors import Conflict, NotFound, ValidationFailed
from network.permissions import Permission
from network.schemas import load_form
from network.web import current_principal, keyring, redirect_to, require
from referrals.blueprint import bp
from referrals.exit_handover import exit_handover_details
from referrals.inbox import InboxFilters, list_sent
from referrals.models import EventKind
from referrals.packet import read_packet
from referrals.referral_timeline import event_body, visible_events
from referrals.schemas import (
    EVENT_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    HandoverArgs,
    MessageArgs,
    ReasonArgs,
    packet_vocab,
)
from referrals.service import SENDER, get_referral, post_message, side_of
from referrals.states import ReferralStatus, allowed_for
from referrals.tags import ReferralTag
from referrals.transitions import record_handover, transition

PER_PAGE = 25
#: the events that show a deadline was missed
DEADLINE_EVENTS = (EventKind.reminder, EventKind.escalation, EventKind.nudge)
STATUS_FILTERS = ("open", *(s.value for s in ReferralStatus))



def _load(referral_id: Any):
    """A referral of the actor's school (404 otherwise: a receiver has its own page in the inbox)."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    if side_of(principal, referral) != SENDER:
        raise NotFound()
    return principal, referral


@bp.get("")
@require(Permission.referral_create)
def index():
    principal = current_principal()
    status = request.args.get("status") or None
    if status not in STATUS_FILTERS:
        status = None
    mine = request.args.get("van") == "me"
    page = list_sent(db.session, principal, InboxFilters(status=status, owner="me" if mine else None),
                     cursor=request.args.get("cursor") or None, per_page=PER_PAGE)
    html = render_template("referrals/sent/list.html", page=page, status=status, mine=mine,
                           status_labels=STATUS_LABELS, status_filters=STATUS_FILTERS)
    return html


@bp.get("/<int:referral_id>")
@require(Permission.referral_create)
def detail(referral_id: int):
    principal, referral = _load(referral_id)
    return _page(principal, referral)


def _page(principal, referral, *, form: str | None = None, values: dict[str, Any] | None = None,
          errors: dict[str, list[str]] | None = None, conflict: str | None = None,
          allowed_now: list[str] | None = None, status: int = 200):
    keys = keyring()
    decision = decide(db.session, principal, referral.student, "verwijzing", [Category.contact],
                      event_type=ReferralTag.view)
    packet = read_packet(db.session, principal, keys, referral)
    events = visible_events(referral, principal.organisation_id)
    bodies = {e.id: event_body(keys, e) for e in events if e.kind in (EventKind.update, EventKind.note)}
    allowed = allowed_for(referral.status, SENDER)
    labels = _category_labels()
    html = render_template(
        "referrals/sent/detail.html", referral=referral, decision=decision, packet=packet, events=events,
        exit_handover=exit_handover_details(keys, referral) if referral.at_exit else None,
        bodies=bodies, deadline_events=[e for e in events if e.kind in DEADLINE_EVENTS],
        status_labels=STATUS_LABELS, type_labels=TYPE_LABELS, event_labels=EVENT_LABELS, Category=Category,
        can_cancel=ReferralStatus.cancelled in allowed, can_mark_error=ReferralStatus.entered_in_error in allowed,
        can_handover=referral.status is ReferralStatus.accepted,
        can_message=referral.status not in (ReferralStatus.draft, ReferralStatus.entered_in_error),
        form=form, values=values or {}, errors=errors or {}, conflict=conflict, allowed_now=allowed_now,
        v=packet_vocab(labels), shared_labels=[labels.get(c, c) for c in packet.shared],
        unseen_labels=[labels.get(c, c) for c in packet.shared if c not in {a.value for a in packet.allowed}])
    return html, status


def _category_labels() -> dict[str, str]:


    return {c.code.value: c.label for c in db.session.scalars(select(DataCategory))}


def _act(referral_id: int, form: str, schema: type, action, message: str):
    """One change of the referral: validate, call the service, commit and redirect; on bad input
    (400) or a conflict (409) show the page again with what was typed and the current state."""
    principal, referral = _load(referral_id)
    values = request.form.to_dict()
    data, errors = load_form(schema, request.form)
    if data is not None:
        try:
            action(principal, referral, data)
        except ValidationFailed as exc:
            errors = exc.errors
        except Conflict as exc:
            return show_conflict(referral_id, exc, form=form, values=values)
    if errors:
        db.session.rollback()
        principal, referral = _load(referral_id)
        values["version"] = str(referral.version)
        return _page(principal, referral, form=form, values=values, errors=errors, status=400)
    return redirect_to("referrals.detail", message, referral_id=referral_id)


def show_conflict(referral_id: int, exc: Conflict, *, form: str | None = None, values: dict[str, Any] | None = None):
    """Nothing was changed: the page again (409) with the message, the current state and what can
    be done now; what the user typed stays in the form, with the current version."""
    db.session.rollback()
    principal, referral = _load(referral_id)
    values = dict(values or {}, version=str(referral.version))
    allowed = exc.extra.get("allowed")
    return _page(principal, referral, form=form, values=values, conflict=str(exc.detail), status=409,
                 allowed_now=[str(STATUS_LABELS[ReferralStatus(s)]) for s in allowed] if allowed is not None else None)


def _base_url() -> str:
    return current_app.config.get("BASE_URL", "")


@bp.post("/<int:referral_id>/intrekken")
@require(Permission.referral_create)
def cancel(referral_id: int):
    return _act(referral_id, "cancel", ReasonArgs, lambda principal, referral, data: transition(
        db.session, principal, keyring(), referral, ReferralStatus.cancelled, reason=data["reason"],
        expected_version=data.get("version"), base_url=_base_url()), _("De verwijzing is ingetrokken."))


@bp.post("/<int:referral_id>/foutief")
@require(Permission.referral_create)
def entered_in_error(referral_id: int):
    return _act(referral_id, "error", ReasonArgs, lambda principal, referral, data: transition(
        db.session, principal, keyring(), referral, ReferralStatus.entered_in_error, reason=data["reason"],
        expected_version=data.get("version"), base_url=_base_url()),
        _("De verwijzing is gemarkeerd als ten onrechte ingevoerd."))


@bp.post("/<int:referral_id>/overdracht")
@require(Permission.referral_create)
def handover(referral_id: int):
    return _act(referral_id, "handover", HandoverArgs, lambda principal, referral, data: record_handover(
        db.session, principal, keyring(), referral, held_on=data["held_on"], present=data["present"],
        expected_version=data.get("version"), base_url=_base_url()),
        _("De warme overdracht is vastgelegd; de ontvanger bevestigt hem."))


@bp.post("/<int:referral_id>/bericht")
@require(Permission.referral_create)
def message(referral_id: int):
    return _act(referral_id, "message", MessageArgs, lambda principal, referral, data: post_message(
        db.session, principal, keyring(), referral, data["text"], base_url=_base_url()),
        _("Uw bericht is geplaatst."))
