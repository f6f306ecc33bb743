"""The stageprotocol's contacts (issue 19, item 2; seed 001, Bijlage 5.2: "intensieve
begeleiding, hierbij stageprotocol vasthouden") and the per-school settings of the protocol.

A :class:`PlacementContact` is one contact between school, student and company: planned by the
hub when the placement starts (:mod:`.protocol`; unique per placement, kind and sequence so
planning twice makes nothing twice), or recorded without a plan. Its free text (what was
agreed, follow-up actions, the evaluation's topics) speaks of the student and is stored
AES-GCM encrypted as a JSON object, bound to the contact's uuid. ``school_id`` and
``supervisor_account_id`` are copied from the placement so the lists and the protocol job read
one table by its indexes. ``reminded_at`` and ``escalated_at`` are the job's stamps.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import str_enum
from referrals.placements.models import Placement

#: evaluations every this many weeks unless the school says otherwise
DEFAULT_EVALUATION_WEEKS = 6
#: working days after the reminder before the school's zorgcoördinator is told
DEFAULT_ESCALATE_WORKING_DAYS = 3
#: the visit at the company, this many days after the start (seed 001: "binnen twee weken")
VISIT_WITHIN_DAYS = 14


class ContactKind(enum.StrEnum):
    #: the first-day call with the student
    first_call_student = "first_call_student"
    #: the first-day call with the praktijkopleider
    first_call_trainer = "first_call_trainer"
    #: the visit at the company
    visit = "visit"
    evaluation = "evaluation"
    #: a contact nobody planned
    other = "other"


class ContactStatus(enum.StrEnum):
    planned = "planned"
    done = "done"
    #: the placement was paused or ended before the contact took place (kept in the history)
    cancelled = "cancelled"


class ContactWith(enum.StrEnum):
    student = "student"
    trainer = "trainer"
    both = "both"
    others = "others"


class ContactHow(enum.StrEnum):
    phone = "phone"
    workplace = "workplace"
    school = "school"
    video = "video"
    email = "email"


class ProtocolSetting(db.Model):
    """A school's choices for the stageprotocol (a row only where the school changed a default)."""

    __tablename__ = "placement_protocol_setting"

    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    evaluation_weeks: Mapped[int] = mapped_column(Integer, default=DEFAULT_EVALUATION_WEEKS)
    escalate_after_working_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_ESCALATE_WORKING_DAYS)


class PlacementContact(db.Model):
    """One contact of the stageprotocol, planned or recorded."""

    __tablename__ = "placement_contact"
    __table_args__ = (
        UniqueConstraint("placement_id", "kind", "sequence", name="uq_placement_contact_key"),
        # the protocol job: open contacts past their date
        Index("ix_placement_contact_status_due", "status", "due_date"),
        # the lists: a stagebegeleider's and a school's open contacts by date
        Index("ix_placement_contact_supervisor", "supervisor_account_id", "status", "due_date"),
        Index("ix_placement_contact_school", "school_id", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    supervisor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, "placement_contact_kind"))
    #: 1, 2, … per placement and kind (evaluations count up; an unplanned contact takes the next)
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[ContactStatus] = mapped_column(str_enum(ContactStatus, "placement_contact_status"),
                                                  default=ContactStatus.planned)
    #: the planned day (None for an unplanned contact)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    #: the day first planned, when the stagebegeleider moved it ("actie op maat"), and why
    planned_date: Mapped[dt.date | None] = mapped_column(Date)
    move_reason: Mapped[str | None] = mapped_column(String(500))
    # the record
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    with_whom: Mapped[ContactWith | None] = mapped_column(str_enum(ContactWith, "placement_contact_with"))
    how: Mapped[ContactHow | None] = mapped_column(str_enum(ContactHow, "placement_contact_how"))
    #: {"agreed", "follow_up", "criteria", "future_profile", "vacancy", "workplace"}, encrypted
    notes_encrypted: Mapped[str | None] = mapped_column(Text)
    recorded_by_name: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # the protocol job's stamps
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    placement: Mapped[Placement] = relationship()

    def __repr__(self) -> str:
        return f"<PlacementContact {self.id} {self.kind}#{self.sequence} {self.status}>"

    def notes_ref(self) -> FieldRef:
        return FieldRef("placement_contact", "notes", str(self.uuid))

    @property
    def at_company(self) -> bool:
        return self.kind is ContactKind.visit or self.how is ContactHow.workplace


# -- labels (the pages and the notifications) ------------------------------------------------

from flask_babel import lazy_gettext as _l  # noqa: E402

KIND_LABELS = {
    ContactKind.first_call_student: _l("Belletje eerste dag met de leerling"),
    ContactKind.first_call_trainer: _l("Belletje eerste dag met de praktijkopleider"),
    ContactKind.visit: _l("Bezoek op de werkplek"),
    ContactKind.evaluation: _l("Evaluatie"),
    ContactKind.other: _l("Contact"),
}
STATUS_LABELS = {ContactStatus.planned: _l("Gepland"), ContactStatus.done: _l("Vastgelegd"),
                 ContactStatus.cancelled: _l("Vervallen")}
WITH_LABELS = {ContactWith.student: _l("De leerling"), ContactWith.trainer: _l("De praktijkopleider"),
               ContactWith.both: _l("De leerling en de praktijkopleider"), ContactWith.others: _l("Anderen")}
HOW_LABELS = {ContactHow.phone: _l("Telefoon"), ContactHow.workplace: _l("Bezoek op de werkplek"),
              ContactHow.school: _l("Op school"), ContactHow.video: _l("Videogesprek"),
              ContactHow.email: _l("E-mail")}
