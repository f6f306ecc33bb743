"""Routes (the Transitieroute of a student), referrals with their events and hand-over packet,
and the follow-up check-ins after school.

Free text about a student (the reason, leefgebieden, notes, the intake conversation) can hold
special-category data (AVG art. 9/10), so it is stored AES-GCM encrypted with row-bound
associated data (:class:`network.crypto.FieldRef`), like the BSN.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import Account, Organisation, Student, str_enum
from referrals.followup_models import ContactAttempt
from referrals.states import Outcome, ReferralStatus, ReferralType
from socialmap.models import Service


class RoutePhase(enum.StrEnum):
    """The eight steps of the Transitieroute (seed 001), aanmelding first."""

    aanmelding = "aanmelding"
    gesprek = "gesprek"
    plan = "plan"
    eindstage = "eindstage"
    afronding = "afronding"
    eerste_baan = "eerste_baan"
    duurzaam_werk = "duurzaam_werk"


class RouteStatus(enum.StrEnum):
    active = "active"
    #: the student left school; the follow-up (nazorg) check-ins run
    followup = "followup"
    closed = "closed"


class Situation(enum.StrEnum):
    """What a follow-up check-in found."""

    werkend = "werkend"
    opleiding = "opleiding"
    uitkering = "uitkering"
    dagbesteding = "dagbesteding"
    onbekend = "onbekend"
    uitgevallen = "uitgevallen"
    #: the young person was not reached: an attempt (referrals.contact_attempts); the check-in
    #: stays open until the third, which records it and alerts the RMC as "onbekend" does
    niet_bereikt = "niet_bereikt"


#: situations that alert the RMC at once (seed 004: RMC contacts the young person on drop-out)
ALERT_SITUATIONS = frozenset({Situation.onbekend, Situation.uitgevallen})


class EventKind(enum.StrEnum):
    created = "created"
    transition = "transition"
    update = "update"
    note = "note"
    handover = "handover"
    handover_confirmed = "handover_confirmed"
    assigned = "assigned"
    reminder = "reminder"
    escalation = "escalation"
    nudge = "nudge"
    packet_withdrawn = "packet_withdrawn"


class Route(db.Model):
    """The Transitieroute of one student: from about a year before the expected exit to the
    end of follow-up (12 months after the actual exit, 24 for RMC follow-up)."""

    __tablename__ = "referral_route"
    __table_args__ = (
        Index("ix_referral_route_school_status", "school_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    #: the responsible school contact (mentor, zorgcoördinator, ...)
    responsible_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"),
                                                               index=True)
    phase: Mapped[RoutePhase] = mapped_column(str_enum(RoutePhase, "route_phase"), default=RoutePhase.aanmelding)
    status: Mapped[RouteStatus] = mapped_column(str_enum(RouteStatus, "route_status"), default=RouteStatus.active)
    start_date: Mapped[dt.date] = mapped_column(Date)
    expected_exit_date: Mapped[dt.date | None] = mapped_column(Date)
    #: the day the student actually left school; starts the follow-up clock
    exit_date: Mapped[dt.date | None] = mapped_column(Date)
    #: months of follow-up after the exit: 12, or 24 for RMC follow-up (entree, school-ex)
    followup_months: Mapped[int] = mapped_column(Integer, default=12)
    #: recorded with the exit: left with a startkwalificatie (mbo 2 or higher, havo, vwo)? None:
    #: not said. The RMC's legal task covers leavers who are not known to have one.
    startkwalificatie: Mapped[bool | None] = mapped_column(Boolean)
    #: an application for the doelgroepregister (banenafspraak) runs as a step of this route:
    #: UWV's legal task covers the student while it does
    doelgroepregister_open: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    student: Mapped[Student] = relationship()
    school: Mapped[Organisation] = relationship()
    responsible: Mapped[Account | None] = relationship()
    phases: Mapped[list[RoutePhaseDate]] = relationship(back_populates="route", cascade="all, delete-orphan",
                                                        order_by="RoutePhaseDate.position")
    check_ins: Mapped[list[CheckIn]] = relationship(back_populates="route", cascade="all, delete-orphan",
                                                    order_by="CheckIn.due_date")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Route {self.id} {self.phase}>"


class RoutePhaseDate(db.Model):
    """The planned and reached date of one phase of a route."""

    __tablename__ = "referral_route_phase"

    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[RoutePhase] = mapped_column(str_enum(RoutePhase, "route_phase_date_phase"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    planned_date: Mapped[dt.date | None] = mapped_column(Date)
    reached_date: Mapped[dt.date | None] = mapped_column(Date)

    route: Mapped[Route] = relationship(back_populates="phases")

    def __repr__(self) -> str:
        return f"<RoutePhaseDate {self.route_id} {self.phase}>"


class Intake(db.Model):
    """A school-naar-werk-gesprek (seed 001, appendix 3.1) recorded on a route; its answers are
    a JSON document, encrypted (it speaks of health, support needs and home)."""

    __tablename__ = "referral_intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    content_encrypted: Mapped[str] = mapped_column(Text)
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Intake {self.id} route={self.route_id}>"

    def content_ref(self) -> FieldRef:
        return FieldRef("referral_intake", "content", str(self.route_id))


class Referral(db.Model):
    """From a school (organisation, account) to a partner's service, for one student."""

    __tablename__ = "referral"
    __table_args__ = (
        # the partner inbox: newest first per receiving organisation (and per status)
        Index("ix_referral_inbox", "to_organisation_id", "status", "created_at", "id"),
        Index("ix_referral_to_created", "to_organisation_id", "created_at", "id"),
        Index("ix_referral_from_created", "from_organisation_id", "created_at", "id"),
        # the SLA job: open referrals by due date
        Index("ix_referral_status_due", "status", "response_due"),
        CheckConstraint("from_organisation_id <> to_organisation_id", name="not_to_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("referral_route.id", ondelete="SET NULL"), index=True)
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    from_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    #: the referrer as named on the form (name and function)
    from_name: Mapped[str] = mapped_column(String(200))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="RESTRICT"), index=True)
    #: the consent purpose code the recipient works under (``jobcoaching``, ``rmc-nazorg``, ...)
    purpose: Mapped[str] = mapped_column(String(60))
    type: Mapped[ReferralType] = mapped_column(str_enum(ReferralType, "referral_type"))
    status: Mapped[ReferralStatus] = mapped_column(str_enum(ReferralStatus, "referral_status"),
                                                   default=ReferralStatus.draft)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "referral_outcome"))
    #: the data categories asked to share, space-separated codes
    categories: Mapped[str] = mapped_column(String(300), default="")
    #: the sign-up form (reason, school situation, leefgebieden, care workers, background):
    #: JSON, encrypted
    details_encrypted: Mapped[str | None] = mapped_column(Text)
    #: the wizard's one-time token: a double submit finds the referral it already made
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: the colleague at the receiving organisation who handles it
    owner_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the last working day to answer (accept or decline)
    response_due: Mapped[dt.date | None] = mapped_column(Date)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # deadlines: each stamp makes its job step happen once (DESIGN.md rule 3)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    nudged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # the warm hand-over (overdrachtsgesprek): held on, who was there, the receiver's confirmation
    handover_on: Mapped[dt.date | None] = mapped_column(Date)
    handover_present: Mapped[str | None] = mapped_column(String(500))
    handover_recorded_by_name: Mapped[str | None] = mapped_column(String(200))
    handover_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    handover_confirmed_by_name: Mapped[str | None] = mapped_column(String(200))
    #: the warm hand-over at the exit of the route (issue 20, item 3): made from the exit page;
    #: who takes over and what was agreed travel in the encrypted details (``exit_handover``)
    at_exit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the signed version of the school-naar-werk-plan attached by reference (agreement, number)
    plan_agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agreement.id", ondelete="SET NULL"))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    student: Mapped[Student] = relationship()
    route: Mapped[Route | None] = relationship()
    from_organisation: Mapped[Organisation] = relationship(foreign_keys=[from_organisation_id])
    to_organisation: Mapped[Organisation] = relationship(foreign_keys=[to_organisation_id])
    from_account: Mapped[Account | None] = relationship(foreign_keys=[from_account_id])
    owner: Mapped[Account | None] = relationship(foreign_keys=[owner_account_id])
    service: Mapped[Service | None] = relationship()
    packet: Mapped[HandoverPacket | None] = relationship(back_populates="referral", uselist=False)
    events: Mapped[list[ReferralEvent]] = relationship(back_populates="referral", order_by="ReferralEvent.id",
                                                       cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Referral {self.id} {self.status}>"

    def details_ref(self) -> FieldRef:
        return FieldRef("referral", "details", str(self.id))

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()


class ReferralEvent(db.Model):
    """One thing that happened to a referral: a transition, an update or internal note, the
    hand-over, an assignment, a reminder or escalation. ``internal_to`` hides a note from
    everyone outside that organisation."""

    __tablename__ = "referral_event"
    __table_args__ = (Index("ix_referral_event_referral", "referral_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, "referral_event_kind"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[ReferralStatus | None] = mapped_column(str_enum(ReferralStatus, "referral_event_from"))
    to_status: Mapped[ReferralStatus | None] = mapped_column(str_enum(ReferralStatus, "referral_event_to"))
    reason: Mapped[str | None] = mapped_column(String(500))
    #: free text (an update or note), encrypted: it may speak of the student's health
    body_encrypted: Mapped[str | None] = mapped_column(Text)
    #: an internal note: visible to this organisation only
    internal_to: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_organisation_name: Mapped[str | None] = mapped_column(String(200))
    #: the organisation the actor acted for (None: the hub itself, a job): tells the school's
    #: free text from the receiver's own, which stays visible to it when no basis remains
    actor_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))

    referral: Mapped[Referral] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<ReferralEvent {self.id} {self.kind}>"

    def body_ref(self) -> FieldRef:
        # the id is only known after the insert, so the referral and the event's time bind it
        return FieldRef("referral_event", "body", f"{self.referral_id}:{self.at.isoformat()}")


class HandoverPacket(db.Model):
    """What was shared with the receiving organisation when the referral was sent: a snapshot
    of the allowed categories, encrypted. Readable by the receiver only while the basis holds;
    a withdrawn or expired consent it rests on wipes the content (``withdrawn_at``)."""

    __tablename__ = "referral_packet"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), unique=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    #: the categories in the snapshot, space-separated
    categories: Mapped[str] = mapped_column(String(300))
    #: the bases it was shared on, as the audit log names them (``consent:12,legal_task:x``)
    basis: Mapped[str] = mapped_column(String(300))
    content_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: ``withdrawn`` or ``expired``: why the content is gone
    withdrawn_reason: Mapped[str | None] = mapped_column(String(20))

    referral: Mapped[Referral] = relationship(back_populates="packet")

    def __repr__(self) -> str:
        return f"<HandoverPacket {self.id} referral={self.referral_id}>"

    def content_ref(self) -> FieldRef:
        return FieldRef("referral_packet", "content", str(self.referral_id))

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()

    @property
    def basis_refs(self) -> list[str]:
        return [ref for ref in self.basis.split(",") if ref]


class CheckIn(db.Model):
    """A follow-up (nazorg) check-in after the exit: at 3, 6, 12, 18 and 24 months, up to the
    route's follow-up term."""

    __tablename__ = "referral_check_in"
    __table_args__ = (
        UniqueConstraint("route_id", "months"),
        Index("ix_referral_check_in_due", "recorded_at", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"))
    months: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    assigned_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"),
                                                            index=True)
    situation: Mapped[Situation | None] = mapped_column(str_enum(Situation, "check_in_situation"))
    note_encrypted: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recorded_by_name: Mapped[str | None] = mapped_column(String(200))
    #: when the responsible contact was reminded that the check-in is due (once)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: when the RMC was alerted about this check-in's situation (once)
    rmc_alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the retourticket: the young person wants to come back to school (the school is told)
    wants_back: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    route: Mapped[Route] = relationship(back_populates="check_ins")
    assigned: Mapped[Account | None] = relationship()
    #: the "niet bereikt" attempts (referrals.followup_models.ContactAttempt)
    attempts: Mapped[list[ContactAttempt]] = relationship(
        order_by="(ContactAttempt.attempted_on, ContactAttempt.id)", cascade="all, delete-orphan",
        passive_deletes=True)

    def __repr__(self) -> str:
        return f"<CheckIn {self.route_id} +{self.months}m>"

    def note_ref(self) -> FieldRef:
        return FieldRef("referral_check_in", "note", f"{self.route_id}:{self.months}")
