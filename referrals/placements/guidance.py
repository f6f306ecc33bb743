"""The student's begeleidingsformulier (issue 19, item 3; seed 001, Bijlage 5.3.2): writing it,
choosing who reads it, and the reads, all through :func:`network.access.decide`.

**Who writes.** The student themself, in the "ik" form (with their mentor beside them, on the
student's own account), or, for a student under 16, the parent or guardian, as for every
consent (:func:`consent.service.subject_role`). School staff do not write it for the student.

**Who reads.** The student chooses, by role, as the seed's form asks ("met wie wil ik deze
informatie delen"): :class:`ShareWith`. The choice is enforced by the one access decision: the
form is special-category data (:attr:`~network.access.Category.support`), read only for
:data:`FORM_PURPOSE`, and :func:`guidance_bases` (a basis provider registered with
``network.access``) gives a basis only to

- school staff of the student's own school whose role the student ticked (:data:`ROLE_SHARES`:
  the mentor as SLB'er, the BPV-begeleider as BPV-docent);
- the praktijkopleider, when the student ticked the praktijkopleider and the placement has not
  ended early: the holder of the personal assessment link of one of the student's placements
  (:func:`link_placement_id`), or, for a company with accounts in the hub, its staff, for a
  placement of the student at that company (:func:`is_employer_staff`);

and the student (or guardian) themself through the decision's own "self" and "representative"
bases. Nothing is cached: a changed choice counts from the next request. Every read, allowed or
denied, is an audit event the student sees in "wie heeft mijn gegevens bekeken".

Docenten, the praktijkondersteuner and colleagues at the company have no role in the hub; their
ticks are shown to those who may read the form (the praktijkopleider reads "je mag dit delen met
je collega's"), so the people who pass it on know what the student allows.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.service import subject_role
from network.access import Basis, Category, Decision, decide, register_basis_provider, register_purpose_label
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, Forbidden, ValidationFailed
from network.events import EventTag
from network.models import OrganisationType, Role, Student
from network.permissions import Principal
from referrals.placements.guidance_models import GuidanceForm
from referrals.placements.models import Placement
from referrals.placements.states import PlacementStatus
from referrals.tags import PlacementTag

#: the purpose every read of the form is decided for (no consent or legal task has it)
FORM_PURPOSE = "begeleidingsformulier"
#: what a read of the form shows: the student's name (the form carries it) and the form
FORM_CATEGORIES = (Category.contact, Category.support)
#: the purpose of the praktijkopleider's assessment page (the school's stageovereenkomst)
LINK_PURPOSE = "stagebeoordeling"
LINK_CATEGORIES = (Category.contact, Category.education)
MAX_TEXT = 2000


class ShareWith(enum.StrEnum):
    """The seed's "met wie wil ik deze informatie delen", in its order."""

    docent = "docent"
    slb = "slb"
    bpv_docent = "bpv_docent"
    praktijkondersteuner = "praktijkondersteuner"
    collegas = "collegas"
    praktijkopleider = "praktijkopleider"


#: the words a student reads beside each tick (B1, "je" form)
SHARE_LABELS = {
    ShareWith.docent: _l("je docenten"),
    ShareWith.slb: _l("je SLB'er of mentor"),
    ShareWith.bpv_docent: _l("je BPV-docent (je stagebegeleider van school)"),
    ShareWith.praktijkondersteuner: _l("de praktijkondersteuner"),
    ShareWith.collegas: _l("je collega's op je stageplek"),
    ShareWith.praktijkopleider: _l("je praktijkopleider op je stageplek"),
}
#: the same words for staff and the praktijkopleider (about the student)
SHARE_NAMES = {
    ShareWith.docent: _l("docenten"),
    ShareWith.slb: _l("SLB'er of mentor"),
    ShareWith.bpv_docent: _l("BPV-docent"),
    ShareWith.praktijkondersteuner: _l("praktijkondersteuner"),
    ShareWith.collegas: _l("collega's op de stageplek"),
    ShareWith.praktijkopleider: _l("praktijkopleider"),
}
#: which school role in the hub reads the form as which tick (the others have no role here)
ROLE_SHARES = {Role.mentor: ShareWith.slb, Role.bpv_begeleider: ShareWith.bpv_docent}
#: the placements whose praktijkopleider may still read it
LINK_STATUSES = frozenset({PlacementStatus.planned, PlacementStatus.running, PlacementStatus.paused,
                           PlacementStatus.completed})

#: the form's fields in the seed's order: (key, heading, help in B1)
FIELDS = (
    ("klas", _l("Klas"), None),
    ("kenmerken", _l("Kenmerken: informatie over mijn ondersteuningsvraag"),
     _l("Waar heb je hulp bij nodig? Bijvoorbeeld: ik heb autisme, ik lees langzaam.")),
    ("compenserend", _l("Compenserende factoren: waar ben ik goed in, wat zijn mijn sterke punten?"), None),
    ("belemmerend", _l("Belemmerende factoren: hier kan ik last van hebben, dit maakt het voor mij moeilijk"),
     None),
    ("presteer", _l("Ik presteer goed als:"), _l("Bijvoorbeeld: ik vooraf weet wat ik die dag ga doen.")),
    ("tips", _l("Tips voor de stagebegeleider en collega's:"), None),
)
TEXT_KEYS = tuple(key for key, _label, _help in FIELDS if key != "klas")

WRITE_FIRST = _l("Schrijf eerst je begeleidingsformulier. Daarna kies je wie het mag lezen.")
EMPTY = _l("Schrijf bij minstens één vraag iets.")
TOO_LONG = _l("Deze tekst is te lang (ten hoogste 2000 tekens).")
KLAS_TOO_LONG = _l("Vul hier alleen je klas in (ten hoogste 40 tekens).")
UNKNOWN_CHOICE = _l("Kies alleen uit de mensen in de lijst.")
NOT_YOURS = _l("Alleen de leerling zelf (of, onder de 16, de ouder of voogd) schrijft dit formulier.")
CHANGED = _l("Iemand anders heeft het formulier intussen opgeslagen. Bekijk de nieuwe versie en sla je "
             "wijzigingen opnieuw op.")
NOT_SHARED = _l("De leerling heeft het begeleidingsformulier niet met u gedeeld.")

register_purpose_label(FORM_PURPOSE, _l("je begeleidingsformulier voor je stage"))
register_purpose_label(LINK_PURPOSE, _l("de beoordeling van je stage door je praktijkopleider"))


# -- who reads --------------------------------------------------------------------------------

def link_placement_id(principal: Principal) -> int | None:
    """The placement whose personal assessment link ``principal`` holds, else None."""
    if principal.channel != "link" or not principal.link_object:
        return None
    kind, _sep, ref = principal.link_object.partition(":")
    return int(ref) if kind == "placement" and ref.isdigit() else None


def is_employer_staff(principal: Principal) -> bool:
    """Staff of a company (an employer organisation) acting in the hub: its praktijkopleiders."""
    acting = principal.acting
    return (acting is not None and acting.role == Role.partner_staff
            and acting.organisation_type == OrganisationType.werkgever)


def share_of(principal: Principal, student: Student) -> ShareWith | None:
    """The tick under which ``principal`` would read the student's form (no query), else None."""
    if link_placement_id(principal) is not None or is_employer_staff(principal):
        return ShareWith.praktijkopleider
    if principal.is_school_staff and principal.organisation_id == student.school_id:
        return ROLE_SHARES.get(principal.role)
    return None


def _trainer_placement(session: Session, principal: Principal, student: Student) -> Placement | None:
    """The student's placement whose praktijkopleider ``principal`` is: the one of its personal
    link, or (staff of a company with accounts) the student's latest placement at that company
    that has not ended early."""
    placement_id = link_placement_id(principal)
    if placement_id is not None:
        placement = session.get(Placement, placement_id)
        return placement if placement is not None and placement.student_id == student.id else None
    if not is_employer_staff(principal):
        return None
    return session.scalar(select(Placement).where(
        Placement.student_id == student.id, Placement.organisation_id == principal.organisation_id,
        Placement.status.in_(LINK_STATUSES)).order_by(Placement.start_date.desc()).limit(1))


def guidance_bases(session: Session, principal: Principal, student: Student, purpose: str,
                   requested: frozenset[Category]) -> Iterable[Basis]:
    """The bases of the form's readers (and of the praktijkopleider's assessment page). Asks
    nothing of the database for any other purpose, so the hub's other decisions cost no more."""
    if purpose == LINK_PURPOSE:
        placement = _trainer_placement(session, principal, student)
        return [Basis("legal_task", "stageovereenkomst", frozenset(LINK_CATEGORIES))] if placement else []
    if purpose != FORM_PURPOSE or not requested & set(FORM_CATEGORIES):
        return []
    share = share_of(principal, student)
    if share is None:
        return []
    shared = session.scalar(select(GuidanceForm.shared_with).where(GuidanceForm.student_id == student.id))
    if not shared or share.value not in shared:
        return []
    if share is ShareWith.praktijkopleider:
        placement = _trainer_placement(session, principal, student)
        if placement is None or placement.status not in LINK_STATUSES:
            return []
    return [Basis("sharing", f"{FORM_PURPOSE}:{share.value}", frozenset(FORM_CATEGORIES))]


register_basis_provider(guidance_bases)


# -- writing ----------------------------------------------------------------------------------

def find_form(session: Session, student: Student | Any) -> GuidanceForm | None:
    """The form of ``student`` (a student or its id; nothing decrypted: decide before showing
    any of it)."""
    student_id = student.id if isinstance(student, Student) else student
    return session.scalar(select(GuidanceForm).where(GuidanceForm.student_id == student_id))


def require_author(session: Session, actor: Principal, student: Student, today: dt.date) -> str:
    """``self`` or ``representative``; anyone else is :class:`Forbidden`."""
    role = subject_role(session, actor, student, today)
    if role is None:
        raise Forbidden(str(NOT_YOURS))
    return role


def _clean(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    texts, errors = {}, {}
    for key, _label, _help in FIELDS:
        value = str(data.get(key) or "").strip().replace("\r\n", "\n")
        limit, message = (40, KLAS_TOO_LONG) if key == "klas" else (MAX_TEXT, TOO_LONG)
        if len(value) > limit:
            errors[key] = [str(message)]
        texts[key] = value
    if not any(texts[key] for key in TEXT_KEYS):
        errors.setdefault("kenmerken", []).append(str(EMPTY))
    return texts, errors


def save_form(session: Session, actor: Principal, keyring: Keyring, student: Student, data: dict[str, Any], *,
              today: dt.date, expected_version: int | None = None) -> GuidanceForm:
    """Write (or rewrite) the form. ``expected_version`` is the version the writer started
    from: another save in between is a :class:`Conflict`, and nothing is overwritten."""
    require_author(session, actor, student, today)
    texts, errors = _clean(data)
    if errors:
        raise ValidationFailed(errors=errors)
    form = find_form(session, student)
    if form is not None and expected_version is not None and form.version != expected_version:
        raise Conflict(str(CHANGED))
    created = form is None
    changed = [] if created else [k for k, v in texts_of(keyring, form).items() if texts.get(k, "") != v]
    if created:  # the uuid binds the ciphertext to its row
        form = GuidanceForm(uuid=uuid.uuid4(), student_id=student.id, shared_with=[])
    form.texts_encrypted = keyring.encrypt(json.dumps(texts, ensure_ascii=False), form.texts_ref())
    form.written_by_name = actor.name[:200]
    form.updated_at = utcnow()
    session.add(form)
    session.flush()
    record(session, actor, action=AuditAction.create if created else AuditAction.update,
           event_type=PlacementTag.guidance_save, object_type="guidance_form", object_id=str(form.uuid),
           student_id=student.id, detail={"fields": sorted(texts) if created else sorted(changed)})
    return form


def set_sharing(session: Session, actor: Principal, student: Student, choices: Iterable[str], *,
                today: dt.date) -> GuidanceForm:
    """The student's choice of readers, in one step (ticked = shared, not ticked = not, or no
    longer, shared). Counts from the next request; audited with what changed."""
    require_author(session, actor, student, today)
    wanted = [str(c) for c in choices]
    if any(c not in {s.value for s in ShareWith} for c in wanted):
        raise ValidationFailed(errors={"shared_with": [str(UNKNOWN_CHOICE)]})
    form = find_form(session, student)
    if form is None:
        raise ValidationFailed(errors={"shared_with": [str(WRITE_FIRST)]})
    ordered = [s.value for s in ShareWith if s.value in wanted]
    before = list(form.shared_with or [])
    if ordered == before:
        return form
    form.shared_with = ordered
    form.shared_changed_at = utcnow()
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=PlacementTag.guidance_share,
           object_type="guidance_form", object_id=str(form.uuid), student_id=student.id,
           detail={"added": [s for s in ordered if s not in before],
                   "removed": [s for s in before if s not in ordered]})
    return form


# -- reading ----------------------------------------------------------------------------------

def texts_of(keyring: Keyring, form: GuidanceForm) -> dict[str, str]:
    texts = json.loads(keyring.decrypt(form.texts_encrypted, form.texts_ref()))
    return {key: texts.get(key, "") for key, _label, _help in FIELDS}


@dataclass(frozen=True)
class FormRead:
    form: GuidanceForm
    texts: dict[str, str]
    decision: Decision


def read_form(session: Session, actor: Principal, keyring: Keyring, student: Student, *,
              event_type: EventTag = PlacementTag.guidance_view) -> FormRead | None:
    """The form for ``actor``, decided and audited; None when the student wrote none (nothing
    to decide). A reader the student did not choose is :class:`Forbidden`, and the denial is in
    the student's access log."""
    form = find_form(session, student)
    if form is None:
        return None
    decision = decide(session, actor, student, FORM_PURPOSE, FORM_CATEGORIES, event_type=event_type)
    if not decision.permits(Category.support):
        raise Forbidden(str(NOT_SHARED))
    return FormRead(form, texts_of(keyring, form), decision)


def shared_names(form: GuidanceForm | None) -> list[str]:
    """Who the student shares the form with, in words (for staff and the praktijkopleider)."""
    return [str(SHARE_NAMES[ShareWith(code)]) for code in (form.shared_with if form else [])]


@dataclass(frozen=True)
class LinkView:
    """What the praktijkopleider's page shows of the student, each part decided."""

    first_name: str | None
    #: the form's texts when the student shared it with the praktijkopleider, else None
    texts: dict[str, str] | None
    shared_with: list[str]
    #: whether the student lets the praktijkopleider pass it on to colleagues at the workplace
    colleagues: bool


def link_view(session: Session, actor: Principal, keyring: Keyring, placement: Placement) -> LinkView:
    """The praktijkopleider's reads on the assessment page (``actor`` holds the placement's
    link): the student's first name and the internship under the school's stageovereenkomst,
    and the begeleidingsformulier only if the student chose the praktijkopleider. Both are
    decided and audited (a form the student did not share is a denial in their access log)."""
    student = placement.route.student
    decision = decide(session, actor, student, LINK_PURPOSE, LINK_CATEGORIES, event_type=PlacementTag.assessment_open)
    if not decision.permits(Category.education):
        raise Forbidden(str(NOT_SHARED))
    form = find_form(session, student)
    texts = None
    if form is not None:
        shared = decide(session, actor, student, FORM_PURPOSE, FORM_CATEGORIES,
                        event_type=PlacementTag.guidance_link_view)
        texts = texts_of(keyring, form) if shared.permits(Category.support) else None
    return LinkView(student.first_name if decision.permits(Category.contact) else None, texts,
                    shared_names(form) if texts is not None else [],
                    texts is not None and ShareWith.collegas.value in form.shared_with)


@dataclass(frozen=True)
class GuidanceSummary:
    """What the placement page says of the form without reading it: that it exists, whom the
    student shares it with, and whether the reader is one of them."""

    shared: list[str]
    can_read: bool
    to_trainer: bool


def guidance_summary(session: Session, actor: Principal, student: Student) -> GuidanceSummary | None:
    form = find_form(session, student)
    if form is None:
        return None
    share = share_of(actor, student)
    return GuidanceSummary(shared_names(form), share is not None and share.value in form.shared_with,
                           ShareWith.praktijkopleider.value in form.shared_with)
