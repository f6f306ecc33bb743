"""Consent services: grant, withdraw, expire, remind, request; who may act for a student.

Plain functions: they take the session, the acting :class:`Principal`, the keyring and the
clock (``today``/``now``), flush but never commit, and audit every change in the same
transaction. Bad input raises :class:`ValidationFailed` with Dutch field messages before
anything is added, so nothing is half-saved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.catalogue import LAW_ONLY, TYPE_WORDS, type_words
from consent.measures import RELATION_WORDS, acts_now, check_giver, check_withdrawer, representing
from consent.models import (
    Channel,
    Consent,
    ConsentItem,
    ConsentReceipt,
    ConsentRequest,
    ConsentStatus,
    DataCategory,
    GivenBy,
    Purpose,
    ReceiptKind,
    Relation,
    Representation,
    RequestStatus,
)
from consent.receipts import DEFAULT_POLICY_URL, build_receipt, sign_receipt
from consent.tags import ConsentTag
from network import clock
from network.access import SPECIAL_CATEGORIES, Category
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.db import add_unless_duplicate, compare_and_set
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import Organisation, Student
from network.outbox import enqueue_email
from network.permissions import Principal, can_manage_student
from network.signals import consent_granted, consent_withdrawn

#: the version of the consent text (:func:`consent_text`); change it when the wording changes
CONSENT_TEXT_VERSION = "toestemming-2026-1"


def default_valid_until(student: Student, valid_from: dt.date) -> dt.date:
    """The end of the student's route: one year after the expected exit date (or one year)."""
    base = student.expected_exit_date if student.expected_exit_date and student.expected_exit_date > valid_from \
        else valid_from
    try:
        return base.replace(year=base.year + 1)
    except ValueError:  # 29 February
        return base.replace(year=base.year + 1, day=28)


def category_labels(session: Session) -> dict[str, str]:
    """Category code -> label, from the catalogue (one query)."""
    return {str(c.code): c.label for c in session.scalars(select(DataCategory).order_by(DataCategory.sort_order))}


def consent_text(*, student_name: str, recipient_name: str, purpose_label: str, category_labels_: list[str],
                 valid_from: dt.date, valid_until: dt.date, on_behalf: tuple[str, Relation] | None = None) -> str:
    """The exact consent text shown (and hashed as evidence); ``on_behalf`` (name, relation) when
    a representative gives it "namens" the student."""
    opening = f"Ik geef {recipient_name}" if on_behalf is None else (
        f"Ik, {on_behalf[0]}, {RELATION_WORDS[on_behalf[1]]} van {student_name}, geef namens {student_name} "
        f"{recipient_name}")
    return (f"{opening} toestemming om deze gegevens van {student_name} te gebruiken "
            f"voor {purpose_label}: {', '.join(category_labels_)}. "
            f"Dit geldt van {valid_from.strftime('%d-%m-%Y')} tot en met {valid_until.strftime('%d-%m-%Y')}. "
            "Ik kan deze toestemming altijd intrekken, zonder reden.")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- who acts for the student ------------------------------------------------------------------

def active_representation(session: Session, account_id: int | None, student: Student) -> Representation | None:
    if account_id is None:
        return None
    return session.scalar(select(Representation).where(
        Representation.account_id == account_id, Representation.student_id == student.id,
        Representation.ended_at.is_(None)))


def subject_role(session: Session, actor: Principal, student: Student, today: dt.date) -> str | None:
    """``"self"`` for the student, ``"representative"`` for a guardian of a student under 16
    (a guardian of a 16/17-year-old does not act for them) or for the curator or mentor of a
    running measure (:mod:`consent.measures`), else None."""
    if actor.account_id is not None and student.account_id == actor.account_id:
        return "self"
    if representing(session, actor.account_id, student, today) is not None:
        return "representative"
    return None


def students_for_account(session: Session, account_id: int, today: dt.date) -> list[tuple[Student, str]]:
    """The students an account may act for in the portal: itself, represented under-16s, and
    adults under a running curatele or mentorschap of which it is the curator or mentor."""
    result = [(s, "self") for s in session.scalars(select(Student).where(Student.account_id == account_id))]
    represented = session.execute(select(Student, Representation).join(
        Representation, Representation.student_id == Student.id).where(
        Representation.account_id == account_id, Representation.ended_at.is_(None)).order_by(Student.first_name)).all()
    result += [(s, "representative") for s, r in represented if acts_now(r, s, today) and s.account_id != account_id]
    return result


# -- validation shared by grant and request ----------------------------------------------------

def _load_purpose(session: Session, code: str | None) -> Purpose | None:
    if not code:
        return None
    return session.scalar(select(Purpose).where(Purpose.code == code, Purpose.is_active.is_(True))
                          .options(selectinload(Purpose.needed), selectinload(Purpose.recipients)))


def check_scope(session: Session, student: Student, data: dict[str, Any],
                errors: dict[str, list[str]]) -> tuple[Organisation | None, Purpose | None, set[Category]]:
    """Recipient in the student's region, an active purpose that this kind of recipient may
    receive, categories the purpose needs."""
    recipient = session.get(Organisation, data.get("recipient_id")) if data.get("recipient_id") else None
    if recipient is None or not recipient.is_active:
        errors.setdefault("recipient_id", []).append(_l("Kies een organisatie."))
        recipient = None
    elif recipient.region_id != student.school.region_id:
        errors.setdefault("recipient_id", []).append(
            _l("Deze organisatie hoort niet bij de regio van de leerling. Kies een organisatie uit de eigen regio."))
    purpose = _load_purpose(session, data.get("purpose_code"))
    if purpose is None:
        errors.setdefault("purpose_code", []).append(_l("Kies een doel."))
    elif recipient is not None and recipient.type not in purpose.recipient_types:
        errors.setdefault("recipient_id", []).append(_l(
            "%(name)s is een %(type)s. Voor '%(purpose)s' mag alleen een %(types)s gegevens krijgen. Kies een "
            "andere organisatie of een ander doel.", name=recipient.name, type=TYPE_WORDS[recipient.type],
            purpose=purpose.label, types=type_words(purpose.recipient_types)))
    categories = {Category(c) for c in data.get("categories") or []}
    if not categories:
        errors.setdefault("categories", []).append(_l("Kies minstens één soort gegevens."))
    elif categories & LAW_ONLY:
        errors.setdefault("categories", []).append(_l(
            "Het burgerservicenummer (BSN) kan niet met toestemming gedeeld worden: dat mag alleen als een wet "
            "het toestaat."))
    elif purpose is not None:
        labels = category_labels(session)
        for extra in sorted(categories - purpose.categories):
            errors.setdefault("categories", []).append(
                _l("%(category)s is niet nodig voor %(purpose)s en kan daarom niet gedeeld worden.",
                   category=labels.get(extra, extra), purpose=purpose.label))
    return recipient, purpose, categories


# -- grant -------------------------------------------------------------------------------------

ALREADY_ACTIVE = _l("Er is al een geldige toestemming voor deze organisatie en dit doel. Trek die eerst in als u "
                    "iets wilt veranderen.")


def _acting_representation(session: Session, actor: Principal, student: Student, channel: Channel,
                           today: dt.date) -> Representation | None:
    """Who may record: in the portal the student, a guardian of an under-16 or a curator or
    mentor (their representation is returned), on paper or in person the school staff."""
    if channel is Channel.portal:
        role = subject_role(session, actor, student, today)
        if role is None:
            raise NotFound(_l("Deze leerling bestaat niet, of u heeft er geen toegang toe."))
        if role == "representative":
            return representing(session, actor.account_id, student, today)
    elif not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling kan een toestemming op papier of mondeling vastleggen."))
    return None


def _check_explicit(session: Session, categories: set[Category], explicit: set[Category],
                    errors: dict[str, list[str]]) -> None:
    """Health and justice (AVG art. 9/10) need their own tick."""
    for special in sorted(categories & SPECIAL_CATEGORIES):
        if special not in explicit:
            errors.setdefault("explicit", []).append(
                _l("Voor %(category)s is een aparte, uitdrukkelijke toestemming nodig: vink die apart aan.",
                   category=category_labels(session).get(special, special)))


def _check_validity(student: Student, data: dict[str, Any], today: dt.date,
                    errors: dict[str, list[str]]) -> tuple[dt.date, dt.date]:
    """The validity (default: from today to the end of the route), not in the past."""
    valid_from = data.get("valid_from") or today
    valid_until = data.get("valid_until") or default_valid_until(student, valid_from)
    if valid_from < today:
        errors.setdefault("valid_from", []).append(_l("Een toestemming kan niet in het verleden ingaan."))
    if valid_until < today:
        errors.setdefault("valid_until", []).append(_l("De einddatum ligt in het verleden."))
    elif valid_until < valid_from:
        errors.setdefault("valid_until", []).append(_l("De einddatum ligt vóór de begindatum."))
    return valid_from, valid_until


def _giver(actor: Principal, channel: Channel, representation: Representation | None, data: dict[str, Any],
           errors: dict[str, list[str]]) -> tuple[GivenBy, str | None, Relation | None, int | None]:
    """Who gives the consent: (given by, representative's name, relation, account). In the portal
    the actor; on paper or in person the student or the representative the school names."""
    if representation is not None:
        return GivenBy.representative, actor.name, representation.relation, actor.account_id
    if channel is Channel.portal:
        return GivenBy.student, None, None, None
    rep_name = data.get("representative_name")
    rep_relation = Relation(data["representative_relation"]) if data.get("representative_relation") else None
    given_by = GivenBy.representative if rep_name else GivenBy.student
    if rep_name and rep_relation is None:
        errors.setdefault("representative_relation", []).append(_l("Kies de relatie tot de leerling."))
    return given_by, rep_name, rep_relation, None


def _check_not_active(session: Session, student: Student, recipient: Organisation | None, purpose: Purpose | None,
                      errors: dict[str, list[str]]) -> None:
    """One active consent per student, recipient and purpose."""
    if recipient is not None and purpose is not None and session.scalar(select(Consent.id).where(
            Consent.student_id == student.id, Consent.recipient_id == recipient.id,
            Consent.purpose_id == purpose.id, Consent.status == ConsentStatus.active)) is not None:
        errors.setdefault("purpose_code", []).append(ALREADY_ACTIVE)


def grant_consent(session: Session, actor: Principal, keyring: Keyring, student: Student, data: dict[str, Any], *,
                  today: dt.date | None = None, now: dt.datetime | None = None,
                  policy_url: str = DEFAULT_POLICY_URL) -> Consent:
    """Record a consent and sign its receipt.

    :param data: loaded :class:`~consent.schemas.GrantArgs`: ``recipient_id``, ``purpose_code``,
        ``categories``, ``explicit`` (special categories ticked separately), ``valid_from``,
        ``valid_until`` (default: end of the route), ``channel`` (``portal`` for the student or
        guardian themself; ``in_person``/``paper`` recorded by school staff of the student's
        school, with ``representative_name``/``representative_relation`` for an under-16).
    """
    today = today or clock.today()
    now = now or utcnow()
    channel = Channel(data.get("channel") or Channel.portal)
    representation = _acting_representation(session, actor, student, channel, today)

    errors: dict[str, list[str]] = {}
    recipient, purpose, categories = check_scope(session, student, data, errors)
    explicit = {Category(c) for c in data.get("explicit") or []}
    _check_explicit(session, categories, explicit, errors)
    valid_from, valid_until = _check_validity(student, data, today, errors)
    given_by, rep_name, rep_relation, rep_account = _giver(actor, channel, representation, data, errors)
    check_giver(session, student, channel, given_by, rep_relation, categories, today, errors)
    _check_not_active(session, student, recipient, purpose, errors)
    if errors:
        raise ValidationFailed(errors=errors)

    labels = category_labels(session)
    ordered = sorted(categories, key=lambda c: list(labels).index(c) if c in labels else 99)
    text = consent_text(student_name=student.full_name, recipient_name=recipient.name, purpose_label=purpose.label,
                        category_labels_=[labels.get(c, c) for c in ordered], valid_from=valid_from,
                        valid_until=valid_until,
                        on_behalf=(rep_name, rep_relation) if given_by is GivenBy.representative else None)
    consent = Consent(
        student=student, recipient=recipient, purpose=purpose, status=ConsentStatus.active,
        valid_from=valid_from, valid_until=valid_until, given_by=given_by, representative_name=rep_name,
        representative_relation=rep_relation, representative_account_id=rep_account, channel=channel,
        text_version=CONSENT_TEXT_VERSION, text_hash=text_hash(text), recorded_by_account_id=actor.account_id,
        recorded_by_name=actor.name, recorded_by_organisation_id=actor.organisation_id if channel is not
        Channel.portal else None, given_at=now,
        items=[ConsentItem(category=c.value, explicit=c in explicit) for c in ordered])
    # flushed: the consent id goes into the receipt and the audit event. Refused when a grant at
    # the same moment (a double click) was recorded first (ux_consent_one_active)
    if not add_unless_duplicate(session, consent):
        raise ValidationFailed(errors={"purpose_code": [ALREADY_ACTIVE]})
    receipt = _add_receipt(session, keyring, consent, ReceiptKind.grant, now, labels, policy_url)
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.grant, object_type="consent",
           object_id=consent.id, student_id=student.id, purpose=purpose.code, basis=f"consent:{consent.id}",
           detail={"recipient_id": recipient.id, "categories": [c.value for c in ordered], "channel": channel.value,
                   "given_by": given_by.value, "receipt": str(receipt.id), "valid_until": valid_until.isoformat()})
    _answer_requests(session, consent, now)
    consent_granted.send(consent, session=session, actor=actor)
    return consent


def _add_receipt(session: Session, keyring: Keyring, consent: Consent, kind: ReceiptKind, at: dt.datetime,
                 labels: dict[str, str], policy_url: str) -> ConsentReceipt:
    receipt_id = uuid.uuid4()
    document = build_receipt(consent, kind.value, keyring, receipt_id=receipt_id, at=at, labels=labels,
                             policy_url=policy_url)
    payload, kid, signature = sign_receipt(keyring, document)
    receipt = ConsentReceipt(id=receipt_id, consent=consent, kind=kind, created_at=at, payload=payload,
                             key_id=kid, signature=signature)
    session.add(receipt)
    return receipt


def _answer_requests(session: Session, consent: Consent, now: dt.datetime) -> None:
    for request in session.scalars(select(ConsentRequest).where(
            ConsentRequest.student_id == consent.student_id, ConsentRequest.recipient_id == consent.recipient_id,
            ConsentRequest.purpose_id == consent.purpose_id, ConsentRequest.status == RequestStatus.open)).all():
        # a request the school cancels at this very moment stays cancelled
        compare_and_set(session, request, ConsentRequest.status == RequestStatus.open, status=RequestStatus.answered,
                        answered_at=now, consent_id=consent.id)


# -- withdraw ----------------------------------------------------------------------------------

def end_consent(session: Session, consent: Consent, status: ConsentStatus, **values: Any) -> bool:
    """Move an active consent to ``status`` (withdrawn, expired) with ``values``, once: with
    :func:`~network.db.compare_and_set` on ``status = 'active'``, so two requests that both read
    it active (a double click; the student and the mentor at once; the expiry job and a
    withdrawal) cannot both end it. False when another ended it first."""
    return compare_and_set(session, consent, Consent.status == ConsentStatus.active, status=status, **values)


def withdraw_consent(session: Session, actor: Principal, keyring: Keyring, consent: Consent, *,
                     today: dt.date | None = None, now: dt.datetime | None = None,
                     policy_url: str = DEFAULT_POLICY_URL) -> ConsentReceipt:
    """Withdraw a consent (no reason asked). It denies from the next decision on, everywhere.

    The student, a guardian of a student under 16, a curator or mentor, or school staff of the
    student's school (recording a withdrawal said to them) may withdraw; under a curatele or
    mentorschap only the one who decides on it (:func:`consent.measures.check_withdrawer`).
    Signs a receipt, tells the recipient by e-mail (AVG art. 19) and sends :data:`network.signals.consent_withdrawn`.
    """
    today = today or clock.today()
    now = now or utcnow()
    student = consent.student
    role = subject_role(session, actor, student, today)
    if role is None and not can_manage_student(actor, student):
        raise NotFound(_l("Deze toestemming bestaat niet, of u heeft er geen toegang toe."))
    check_withdrawer(session, role, representing(session, actor.account_id, student, today) if role else None,
                     student, consent.categories, today)
    if consent.status is not ConsentStatus.active or not end_consent(
            session, consent, ConsentStatus.withdrawn, withdrawn_at=now, withdrawn_by_name=actor.name):
        raise Conflict(_l("Deze toestemming is al ingetrokken of verlopen."))
    labels = category_labels(session)
    receipt = _add_receipt(session, keyring, consent, ReceiptKind.withdraw, now, labels, policy_url)
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.withdraw, object_type="consent",
           object_id=consent.id, student_id=student.id, purpose=consent.purpose.code, basis=f"consent:{consent.id}",
           detail={"recipient_id": consent.recipient_id, "receipt": str(receipt.id)})
    recipient = consent.recipient
    if recipient.email:
        enqueue_email(session, keyring, to=recipient.email, subject="Toestemming ingetrokken",
                      body=(f"Beste {recipient.name},\n\nEen leerling heeft de toestemming voor "
                            f"'{consent.purpose.label}' ingetrokken (toestemming nr. {consent.id}). U mag de gegevens "
                            "die u op grond van deze toestemming kreeg niet meer gebruiken; verwijder ze waar de "
                            "wet dat vraagt (AVG art. 17 en 19).\n\nSchakel"))
    consent_withdrawn.send(consent, session=session, actor=actor, keyring=keyring)
    return receipt
