"""The employer's assessment (issue 19, item 4): sending the personal link, revoking it, what a
link points at, and the praktijkopleider's submission. Plain functions: they take the session,
the actor, the keyring and the clock, check before they write, flush but never commit, and
audit every step in the same transaction.

**The link.** The praktijkopleider has no account. The stagebegeleider (the route's school,
``route_manage``) sends a personal link to :attr:`Placement.trainer_email`; without an address
it is refused (:data:`NO_EMAIL`). The token is 32 random bytes; only its SHA-256 is stored, on
the assessment it opens, so it is single-purpose: this assessment of this placement (the URL
names the placement too, and a token opened under another placement is unknown). It expires
after ``PLACEMENT_ASSESSMENT_LINK_DAYS`` days, the stagebegeleider can revoke it, sending again
replaces it, and after the submission it shows only the thanks (single use).

**The actor of a link** is the praktijkopleider by name, channel ``link``
(:func:`link_principal`): each open of the page and the submission are audited as theirs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from network.audit import AuditAction, record
from network.clock import AMSTERDAM, utcnow, wall_date
from network.crypto import Keyring, token_hash
from network.errors import Conflict, ValidationFailed
from network.models import Role
from network.notifications import notify, organisation_staff
from network.outbox import enqueue_email
from network.permissions import Principal
from network.signals import placement_assessment_submitted
from referrals.placements.assessment_form import ATTENTION, ATTENTION_KEYS, COMPETENCE_VALUES, ITEMS, TASK_VALUES
from referrals.placements.assessment_models import AssessmentChannel, AssessmentStatus, PlacementAssessment
from referrals.placements.models import Placement
from referrals.placements.states import KIND_LABELS
from referrals.route_service import require_route_manager
from referrals.tags import PlacementNotice, PlacementTag

DEFAULT_LINK_DAYS = 30
MAX_TEXT = 4000
NO_EMAIL = _l("Er is geen e-mailadres van de praktijkopleider ingevuld. Vul het adres aan bij de stage; "
              "zonder adres kan Schakel de link voor de beoordeling niet sturen.")
ALREADY_SUBMITTED = _l("Deze beoordeling is al ingevuld en ondertekend; ze kan niet meer worden gewijzigd.")
NOT_OPEN = _l("Deze link is niet meer geldig.")
OUT_OF_SCALE = _l("Kies een van de antwoorden van het formulier.")
CHOOSE = _l("Kies een antwoord.")
CONFIRM = _l("Bevestig dat dit uw beoordeling is.")
SIGN_NAME = _l("Typ uw naam als ondertekening.")
TOO_LONG = _l("Deze tekst is te lang (ten hoogste 4000 tekens).")
#: the notification to the company's staff: no name (it may go out by e-mail)
INBOX_TITLE = _l("Er staat een stagebeoordeling voor uw bedrijf klaar")

EMAIL_SUBJECT = "Beoordeling stage van {first_name} bij {company}"
EMAIL_BODY = """Beste {trainer},

{first_name} loopt stage bij {company} als {function}. Wilt u de stage beoordelen? Het formulier
"Beoordelingsformulier werkontwikkeling" vult u in via deze persoonlijke link (u heeft geen
account nodig; de link werkt tot {expires}):

  {link}

Stuur deze link niet door: hij is alleen voor u en voor deze beoordeling.
Vragen? Neem contact op met de stagebegeleider van de school, {supervisor}.

Met vriendelijke groet,
{school}
via Schakel
"""


def link_principal(base: Principal, assessment: PlacementAssessment) -> Principal:
    """The praktijkopleider by name, channel ``link`` (the request's address and agent kept)."""
    placement = assessment.placement
    name = f"{placement.trainer_name}, praktijkopleider bij {placement.company_name} (persoonlijke link)"
    return dataclasses.replace(base, account_id=None, name=name[:200], channel="link", acting=None, memberships=(),
                               permissions=frozenset(), on_behalf_of=None, link_object=f"placement:{placement.id}")


def _audit(session: Session, actor: Principal, assessment: PlacementAssessment, event_type: PlacementTag,
           action: AuditAction, detail: dict | None = None) -> None:
    record(session, actor, action=action, event_type=event_type, object_type="placement_assessment",
           object_id=str(assessment.uuid), student_id=assessment.student_id, detail=detail)


def placement_assessments(session: Session, placement: Placement) -> list[PlacementAssessment]:
    return list(session.scalars(select(PlacementAssessment).where(PlacementAssessment.placement_id == placement.id)
                                .order_by(PlacementAssessment.id.desc())))


def employer_accounts(session: Session, placement: Placement) -> list[int]:
    """The company's staff with an account in the hub (none: the praktijkopleider gets the link)."""
    if placement.organisation_id is None:
        return []
    return organisation_staff(session, placement.organisation_id, roles=[Role.partner_staff])


def send_link(session: Session, actor: Principal, keyring: Keyring, placement: Placement, *, base_url: str,
              link_days: int = DEFAULT_LINK_DAYS, now: dt.datetime | None = None) -> tuple[PlacementAssessment, str]:
    """Send (or send again) the placement's open assessment; a new one is made when none is
    open. A company with accounts in the hub gets it in its staff's list (``/stagebeoordelingen``,
    with a notification that names no one); otherwise the praktijkopleider gets a personal link
    by e-mail. Returns the assessment and its address (a link's token is nowhere else)."""
    require_route_manager(actor, placement.route)
    staff = employer_accounts(session, placement)
    if not staff and not placement.can_send_assessment_link:
        raise ValidationFailed(str(NO_EMAIL), errors={"trainer_email": [str(NO_EMAIL)]})
    now = now or utcnow()
    sent_to = placement.company_name[:254] if staff else placement.trainer_email  # before the new row is added
    assessment = session.scalar(select(PlacementAssessment).where(
        PlacementAssessment.placement_id == placement.id, PlacementAssessment.status == AssessmentStatus.requested))
    if assessment is None:
        assessment = PlacementAssessment(uuid=uuid.uuid4(), placement=placement, student_id=placement.student_id,
                                         school_id=placement.school_id)
        session.add(assessment)
    assessment.sent_to = sent_to
    assessment.sent_at = now
    assessment.sent_by_name = actor.name
    assessment.expires_at = now + dt.timedelta(days=link_days)
    assessment.revoked_at = assessment.revoked_by_name = None
    if staff:
        return _to_inbox(session, actor, keyring, assessment, staff, base_url=base_url, link_days=link_days, now=now)
    token = secrets.token_urlsafe(32)
    assessment.channel = AssessmentChannel.link.value
    assessment.token_hash = token_hash(token)
    session.flush()
    link = f"{base_url.rstrip('/')}/stagebeoordeling/{placement.uuid}/{token}"
    student = placement.route.student
    enqueue_email(session, keyring, to=placement.trainer_email, now=now,
                  subject=EMAIL_SUBJECT.format(first_name=student.first_name, company=placement.company_name),
                  body=EMAIL_BODY.format(trainer=placement.trainer_name, first_name=student.first_name,
                                         company=placement.company_name, function=placement.function,
                                         expires=wall_date(assessment.expires_at), link=link,
                                         supervisor=placement.supervisor.name if placement.supervisor else actor.name,
                                         school=placement.route.school.name))
    _audit(session, actor, assessment, PlacementTag.assessment_send, AuditAction.create,
           {"expires_days": link_days, "channel": AssessmentChannel.link.value})
    return assessment, link


def _to_inbox(session: Session, actor: Principal, keyring: Keyring, assessment: PlacementAssessment,
              staff: list[int], *, base_url: str, link_days: int, now: dt.datetime) -> tuple[PlacementAssessment, str]:
    """The company has accounts: no link, the assessment waits in its staff's list."""
    assessment.channel = AssessmentChannel.inbox.value
    assessment.token_hash = None
    session.flush()
    path = f"/stagebeoordelingen/{assessment.id}"
    notify(session, keyring, staff, kind=PlacementNotice.assessment_requested, title=str(INBOX_TITLE), link=path,
           base_url=base_url, now=now)
    _audit(session, actor, assessment, PlacementTag.assessment_send, AuditAction.create,
           {"expires_days": link_days, "channel": AssessmentChannel.inbox.value, "accounts": len(staff)})
    return assessment, f"{base_url.rstrip('/')}{path}"


def revoke_link(session: Session, actor: Principal, assessment: PlacementAssessment, *,
                now: dt.datetime | None = None) -> None:
    require_route_manager(actor, assessment.placement.route)
    if assessment.is_submitted:
        raise Conflict(str(ALREADY_SUBMITTED))
    assessment.revoked_at = now or utcnow()
    assessment.revoked_by_name = actor.name
    _audit(session, actor, assessment, PlacementTag.assessment_revoke, AuditAction.update)


@dataclass(frozen=True)
class LinkCheck:
    #: "ok", "submitted", "expired", "revoked" or "invalid" (unknown, or for another placement)
    state: str
    assessment: PlacementAssessment | None = None


def check_link(session: Session, placement_uuid: Any, token: str, *, now: dt.datetime | None = None) -> LinkCheck:
    """What a link points at. A token that is unknown, or opened under another placement than
    its own, is ``invalid`` (nothing is shown, not even that it exists)."""
    if not token or len(token) > 100:
        return LinkCheck("invalid")
    assessment = session.scalar(select(PlacementAssessment).where(PlacementAssessment.token_hash == token_hash(token)))
    if assessment is None or str(assessment.placement.uuid) != str(placement_uuid):
        return LinkCheck("invalid")
    return _state(assessment, now)


def check_inbox(session: Session, actor: Principal, assessment_id: Any, *,
                now: dt.datetime | None = None) -> LinkCheck:
    """The same for an assessment in a company's inbox: ``invalid`` unless it was sent to the
    inbox of the company ``actor`` works for (another company's, or a link's, is unknown)."""
    assessment = (session.get(PlacementAssessment, assessment_id)
                  if isinstance(assessment_id, int) and 0 < assessment_id < 2**31 else None)
    if (assessment is None or not assessment.in_inbox or actor.role != Role.partner_staff
            or actor.organisation_id is None or assessment.placement.organisation_id != actor.organisation_id):
        return LinkCheck("invalid")
    return _state(assessment, now)


def _state(assessment: PlacementAssessment, now: dt.datetime | None) -> LinkCheck:
    if assessment.is_submitted:
        return LinkCheck("submitted", assessment)
    if assessment.revoked_at is not None:
        return LinkCheck("revoked", assessment)
    if (now or utcnow()) >= assessment.expires_at:
        return LinkCheck("expired", assessment)
    return LinkCheck("ok", assessment)


def inbox_assessments(session: Session, actor: Principal, *, now: dt.datetime | None = None,
                      limit: int = 50) -> list[PlacementAssessment]:
    """The company's assessments in the hub, the open ones first (nothing of the students: the
    list names the internship, not the student)."""
    if actor.role != Role.partner_staff or actor.organisation_id is None:
        return []
    rows = session.scalars(
        select(PlacementAssessment).join(Placement, Placement.id == PlacementAssessment.placement_id)
        .where(Placement.organisation_id == actor.organisation_id,
               PlacementAssessment.channel == AssessmentChannel.inbox.value)
        .options(selectinload(PlacementAssessment.placement))
        .order_by(PlacementAssessment.sent_at.desc()).limit(limit)).all()
    when = now or utcnow()
    return sorted(rows, key=lambda a: _state(a, when).state != "ok")


def _text(errors: dict, data: dict, key: str) -> str | None:
    value = (data.get(key) or "").strip()
    if len(value) > MAX_TEXT:
        errors.setdefault(key, []).append(str(TOO_LONG))
    return value or None


def _yes_no(errors: dict, data: dict, key: str) -> bool | None:
    value = data.get(key)
    if value not in ("ja", "nee"):
        errors.setdefault(key, []).append(str(OUT_OF_SCALE if value else CHOOSE))
        return None
    return value == "ja"


def _scores(errors: dict, placement: Placement, data: dict) -> tuple[list, dict]:
    werkprocessen, given = [], data.get("werkprocessen") or {}
    for index, text in enumerate(placement.werkprocessen or []):
        code = given.get(str(index))
        if code not in TASK_VALUES:
            errors.setdefault(f"wp_{index}", []).append(str(OUT_OF_SCALE if code else CHOOSE))
        werkprocessen.append({"werkproces": text, "score": code})
    competences, given = {}, data.get("competences") or {}
    for key in ITEMS:
        code = given.get(key)
        if code not in COMPETENCE_VALUES:
            errors.setdefault(f"c_{key}", []).append(str(OUT_OF_SCALE if code else CHOOSE))
        competences[key] = code
    return werkprocessen, competences


def submit_assessment(session: Session, actor: Principal, keyring: Keyring, assessment: PlacementAssessment,
                      data: dict[str, Any], *, now: dt.datetime | None = None) -> PlacementAssessment:
    """Check every answer against the form's scales, then sign and close the assessment.

    ``data``: ``werkprocessen`` ({index: code}), ``competences`` ({"1a": code}), ``hire`` and
    ``develop`` ("ja"/"nee"), ``if_not``, ``if_so``, ``toelichting``, ``attention`` (keys),
    ``confirm`` (bool) and ``signed_name``. Anything wrong is a :class:`ValidationFailed` with
    Dutch field errors and nothing written."""
    if assessment.is_submitted:
        raise Conflict(str(ALREADY_SUBMITTED))
    placement, errors = assessment.placement, {}
    werkprocessen, competences = _scores(errors, placement, data)
    hire, develop = _yes_no(errors, data, "hire"), _yes_no(errors, data, "develop")
    texts = {key: _text(errors, data, key) for key in ("if_not", "if_so", "toelichting")}
    attention = list(data.get("attention") or [])
    if any(key not in ATTENTION_KEYS for key in attention):
        errors.setdefault("attention", []).append(str(OUT_OF_SCALE))
    if not data.get("confirm"):
        errors.setdefault("confirm", []).append(str(CONFIRM))
    signed = (data.get("signed_name") or "").strip()
    if not signed or len(signed) > 200:
        errors.setdefault("signed_name", []).append(str(SIGN_NAME))
    if errors:
        raise ValidationFailed(str(_l("Niet alle antwoorden zijn goed ingevuld.")), errors=errors)
    now = now or utcnow()
    route = placement.route
    assessment.company_name = placement.company_name
    assessment.setting = str(KIND_LABELS[placement.kind])
    assessment.function = placement.function
    assessment.assessor_name = placement.trainer_name
    assessment.supervisor_name = placement.supervisor.name if placement.supervisor else None
    assessment.assessed_on = now.astimezone(AMSTERDAM).date()
    assessment.would_hire, assessment.can_develop = hire, develop
    assessment.werkproces_scores, assessment.competence_scores = werkprocessen, competences
    assessment.attention = [key for key, _text in ATTENTION if key in attention]
    assessment.texts_encrypted = keyring.encrypt(json.dumps(texts, ensure_ascii=False), assessment.text_ref())
    assessment.signed_name = signed
    assessment.submitted_at = now
    assessment.status = AssessmentStatus.submitted
    _audit(session, actor, assessment, PlacementTag.assessment_submit, AuditAction.create,
           {"route_id": route.id, "signed": True})
    placement_assessment_submitted.send(assessment, session=session, keyring=keyring)
    return assessment


def assessment_texts(keyring: Keyring, assessment: PlacementAssessment) -> dict[str, str | None]:
    if not assessment.texts_encrypted:
        return {}
    return json.loads(keyring.decrypt(assessment.texts_encrypted, assessment.text_ref()))
