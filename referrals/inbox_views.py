"""The partner inbox (``/inbox``): referrals to my organisation with filters and cursor
pagination, and the receiver's page of one referral: the facts, the hand-over packet (decided
on every request), the timeline, and every step the receiver may take now, each as a plain
form carrying the row version it was rendered with.

Views stay thin: load the referral inside the walls (404 before 403), call one service, commit
and redirect. Invalid input re-renders the page with status 400, the Dutch messages and what
was typed; a step that is not allowed (any more) is a flashed message listing what is.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from consent.models import Purpose
from network import clock
from network.access import Category
from network.db import db
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Organisation
from network.permissions import Permission
from network.web import current_principal, keyring, redirect_to, require, submit
from referrals.exit_handover import exit_handover_details
from referrals.inbox import InboxFilters, list_inbox, services_in_inbox
from referrals.inbox_schemas import (
    ACTION_LABELS,
    CATEGORY_LABELS,
    DUE_FILTERS,
    EVENT_LABELS,
    OUTCOME_LABELS,
    OWNER_FILTERS,
    STATUS_FILTERS,
    STATUS_LABELS,
    TYPE_LABELS,
    AssignArgs,
    ConfirmArgs,
    HandoverArgs,
    MessageArgs,
    TransitionArgs,
    action_words,
    packet_sections,
)
from referrals.models import EventKind
from referrals.packet import read_packet
from referrals.referral_timeline import WITHHELD, WITHHELD_NOTICE, school_text_fields, timeline
from referrals.service import RECEIVER, assign, colleagues, get_referral, post_message, side_of
from referrals.states import TERMINAL, ReferralStatus, allowed_for
from referrals.transitions import confirm_handover, record_handover, transition
from socialmap.models import Service, ServiceStatus

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

S = ReferralStatus
PER_PAGE = 25



# -- the inbox ---------------------------------------------------------------------------------

def _filters(args, services: list[tuple[int, str]]) -> tuple[InboxFilters, dict[str, str]]:
    """The inbox filters from the query string; unknown values are ignored (a GET form keeps
    working when a service disappears). No ``status`` means the open referrals."""
    values = {"status": args.get("status") or "open", "service": args.get("service") or "",
              "due": args.get("due") or "", "owner": args.get("owner") or ""}
    statuses = {code for code, _label in STATUS_FILTERS}
    if values["status"] not in statuses:
        values["status"] = "open"
    service_ids = {str(i) for i, _name in services}
    if values["service"] not in service_ids:
        values["service"] = ""
    if values["due"] not in {code for code, _label in DUE_FILTERS}:
        values["due"] = ""
    if values["owner"] not in {code for code, _label in OWNER_FILTERS}:
        values["owner"] = ""
    filters = InboxFilters(status=None if values["status"] == "alle" else values["status"],
                           service_id=int(values["service"]) if values["service"] else None,
                           due=values["due"] or None, owner=values["owner"] or None)
    return filters, values


@bp.get("")
@require(Permission.referral_handle)
def index():
    principal = current_principal()
    services = services_in_inbox(db.session, principal)
    filters, values = _filters(request.args, services)
    cursor, errors, status = request.args.get("cursor") or None, {}, 200
    try:
        page = list_inbox(db.session, principal, filters, cursor=cursor, per_page=PER_PAGE)
    except ValidationFailed as exc:  # a damaged cursor: show the first page and say so
        errors, status, cursor = exc.errors, 400, None
        page = list_inbox(db.session, principal, filters, per_page=PER_PAGE)
    html = render_template("referrals/inbox/index.html", page=page, values=values, errors=errors, cursor=cursor,
                           services=services, status_filters=STATUS_FILTERS, due_filters=DUE_FILTERS,
                           owner_filters=OWNER_FILTERS, status_labels=STATUS_LABELS, today=clock.today(),
                           filter_args={k: v for k, v in values.items() if v})
    return html, status


# -- one referral ------------------------------------------------------------------------------

def _load(referral_id: int):
    """The referral, if it was sent to the acting organisation (404 otherwise, also for the
    school that sent it: its own page is elsewhere)."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    if side_of(principal, referral) != RECEIVER:
        raise NotFound(_("Deze verwijzing bestaat niet, of u heeft er geen toegang toe."))
    return principal, referral


def _suggestions(principal) -> list[tuple[int, str]]:
    """Active services of other organisations in the region, to suggest when declining."""
    rows = db.session.execute(
        select(Service.id, Service.name, Organisation.name)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(Organisation.region_id == principal.region_id, Organisation.is_active.is_(True),
               Service.status == ServiceStatus.active, Service.is_internal.is_(False),
               Service.organisation_id != principal.organisation_id)
        .order_by(Organisation.name, Service.name).limit(500)).all()
    return [(service_id, f"{organisation} — {name}") for service_id, name, organisation in rows]


def _render(principal, referral, *, form: str | None = None, values=None, errors=None, status: int = 200):
    packet = read_packet(db.session, principal, keyring(), referral)
    school_text = packet.basis_remains  # without a basis, none of the school's free text (issue 18)
    allowed = allowed_for(referral.status, RECEIVER)
    student_name = None
    if packet.state == "open":
        student_name = (packet.content.get("contactgegevens") or {}).get("name")
    today = clock.today()
    purpose = db.session.scalar(select(Purpose.label).where(Purpose.code == referral.purpose))
    html = render_template(
        "referrals/inbox/detail.html", referral=referral, purpose_label=purpose or referral.purpose, packet=packet,
        student_name=student_name,
        sections=packet_sections(packet.content) if packet.state == "open" else [],
        hidden=[str(CATEGORY_LABELS[Category(c)]) for c in packet.shared if c not in packet.allowed]
        if packet.state == "open" else [],
        referrer=packet.content.get("referrer") if packet.state == "open" else None,
        timeline=timeline(keyring(), referral, principal.organisation_id, school_text=school_text),
        texts=school_text_fields(referral, school_text=school_text),
        exit_handover=exit_handover_details(keyring(), referral) if referral.at_exit and school_text else None,
        withheld_notice=None if school_text else WITHHELD_NOTICE, withheld_line=WITHHELD,
        allowed=allowed, terminal=referral.status in TERMINAL,
        late=referral.status is S.requested and referral.response_due is not None and referral.response_due < today,
        colleagues=colleagues(db.session, principal) if referral.status not in TERMINAL else [],
        suggestions=_suggestions(principal) if S.rejected in allowed else [],
        status_labels=STATUS_LABELS, outcome_labels=OUTCOME_LABELS,
        outcome_options=[(o.value, label) for o, label in OUTCOME_LABELS.items()], type_labels=TYPE_LABELS,
        action_labels=ACTION_LABELS, event_labels=EVENT_LABELS, EventKind=EventKind, S=S, today=today,
        form=form, values=values or {}, errors=errors or {})
    return html, status


@bp.get("/<int:referral_id>")
@require(Permission.referral_handle)
def detail(referral_id):
    principal, referral = _load(referral_id)
    return _render(principal, referral)


def _conflict(referral_id: int, exc: Conflict):
    """A step that cannot be taken now (a stale form, a closed referral): say so and what can."""
    db.session.rollback()
    principal, referral = _load(referral_id)
    allowed = allowed_for(referral.status, RECEIVER)
    if referral.status in TERMINAL:
        now = _("Deze verwijzing is afgesloten; de status kan niet meer veranderen (alleen nog: %(steps)s).",
                steps=action_words(allowed)) if allowed else _("Deze verwijzing is afgesloten.")
    else:
        now = _("Wat nu kan: %(steps)s.", steps=action_words(allowed))
    flash(f"{exc.detail or _('Deze stap kan nu niet.')} "
          f"{_('De status is nu: %(status)s.', status=STATUS_LABELS[referral.status])} {now}", "error")
    return redirect(url_for("inbox.detail", referral_id=referral_id), 303)


def _act(referral_id: int, schema, form: str, action, message: str):
    """Validate the form, run one service call, commit and redirect; 400 with the input kept
    on invalid input; a conflict is flashed with what can be done now."""
    principal, referral = _load(referral_id)
    raw = request.form.to_dict()
    try:
        _done, errors = submit(schema, request.form, lambda data: action(principal, referral, data))
    except Conflict as exc:
        return _conflict(referral_id, exc)
    if not errors:
        return redirect_to("inbox.detail", message, referral_id=referral_id)
    principal, referral = _load(referral_id)
    return _render(principal, referral, form=form, values=raw, errors=errors, status=400)


def _base_url() -> str:
    return current_app.config.get("BASE_URL", "")


def _reason_with_suggestion(principal, data) -> str | None:
    """Declining may suggest another service of the sociale kaart: it travels in the reason."""
    reason = data.get("reason")
    if data.get("status") != S.rejected.value or not data.get("suggestion_service_id"):
        return reason
    found = dict(_suggestions(principal)).get(data["suggestion_service_id"])
    if found is None:
        raise ValidationFailed(errors={"suggestion_service_id": [_("Kies een actieve dienst van de sociale kaart.")]})
    if not reason:
        return reason  # the service asks for the reason itself
    text = f"{reason}\n{_('Suggestie: %(service)s', service=found)}"
    if len(text) > 500:
        raise ValidationFailed(errors={"reason": [_("De reden is te lang om de suggestie mee te sturen "
                                                    "(hoogstens 500 tekens samen).")]})
    return text


@bp.post("/<int:referral_id>/status")
@require(Permission.referral_handle)
def change_status(referral_id):
    """Accept, decline, put on hold, resume, complete, fail or cancel."""
    target = request.form.get("status") or ""

    def act(principal, referral, data):
        return transition(db.session, principal, keyring(), referral, data["status"],
                          reason=_reason_with_suggestion(principal, data), outcome=data.get("outcome"),
                          expected_version=data.get("version"), base_url=_base_url())

    label = STATUS_LABELS.get(S(target)) if target in {s.value for s in S} else None
    return _act(referral_id, TransitionArgs, f"{target}-", act,
                _("De verwijzing is bijgewerkt: %(status)s.", status=label or target))


@bp.post("/<int:referral_id>/toewijzen")
@require(Permission.referral_handle)
def assign_owner(referral_id):
    """Claim (oppakken) or assign to a colleague."""
    def act(principal, referral, data):
        return assign(db.session, principal, keyring(), referral, data["owner_account_id"],
                      expected_version=data.get("version"), base_url=_base_url())

    return _act(referral_id, AssignArgs, "assign-", act, _("De verwijzing is toegewezen."))


@bp.post("/<int:referral_id>/overdracht")
@require(Permission.referral_handle)
def handover(referral_id):
    """Record the warm hand-over: by the receiver it is confirmed at once and the work starts."""
    def act(principal, referral, data):
        return record_handover(db.session, principal, keyring(), referral, held_on=data["held_on"],
                               present=data["present"], expected_version=data.get("version"),
                               today=clock.today(), base_url=_base_url())

    return _act(referral_id, HandoverArgs, "handover-", act,
                _("De warme overdracht is vastgelegd; de begeleiding is gestart."))


@bp.post("/<int:referral_id>/overdracht/bevestigen")
@require(Permission.referral_handle)
def confirm(referral_id):
    """Confirm the hand-over the school recorded; the work starts."""
    def act(principal, referral, data):
        return confirm_handover(db.session, principal, keyring(), referral, expected_version=data.get("version"),
                                base_url=_base_url())

    return _act(referral_id, ConfirmArgs, "confirm-", act,
                _("De warme overdracht is bevestigd; de begeleiding is gestart."))


@bp.post("/<int:referral_id>/bericht")
@require(Permission.referral_handle)
def message(referral_id):
    """An update the school sees, or an internal note for the own organisation only."""
    def act(principal, referral, data):
        return post_message(db.session, principal, keyring(), referral, data["text"],
                            internal=data["visibility"] == "note", base_url=_base_url())

    internal = request.form.get("visibility") == "note"
    return _act(referral_id, MessageArgs, "message-", act,
                _("De interne notitie is opgeslagen.") if internal else _("Het bericht is verstuurd naar de school."))
