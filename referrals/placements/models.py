"""Placements: a student's internships and work placements on the route (issue 19, item 1),
their history, and the employers proposed for the sociale kaart on the way.

The company is an employer entry of the sociale kaart (a :class:`~socialmap.models.Service` of
an organisation of type ``werkgever``; ``organisation_id`` is kept beside it so a company's
placements are one index away), or, until the map's editors add it, an
:class:`EmployerProposal`. The learning goals speak of the student and may come from the
encrypted school-naar-werk-plan, so they are stored AES-GCM encrypted like the plan; the
werkprocessen describe the function, not the student, and stay plain.

Built to carry items 2–6 of the issue: the stageprotocol's contacts hang off the placement and
its school ``supervisor``; the assessment link goes to ``trainer_email`` (see
:attr:`Placement.can_send_assessment_link`) and rates the ``werkprocessen``; the company side
of the map counts placements by ``organisation_id``; ``uuid`` is the id thin webhook events carry.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import Account, Organisation, str_enum
from referrals.models import Route
from referrals.placements.states import PlacementKind, PlacementStatus
from socialmap.models import Service


class ProposalStatus(enum.StrEnum):
    pending = "pending"
    #: the map's editors added the company: its placements now point at the entry
    added = "added"
    declined = "declined"


class PlacementEventKind(enum.StrEnum):
    created = "created"
    transition = "transition"


class EmployerProposal(db.Model):
    """A company a school placed a student at that is not (yet) on the sociale kaart, proposed
    to the region's uitstroomcoördinator. Company data only: no student is named in it."""

    __tablename__ = "employer_proposal"
    __table_args__ = (Index("ix_employer_proposal_region_status", "region_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    #: the school that proposed it
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    proposed_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    proposed_by_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    kvk: Mapped[str | None] = mapped_column(String(8))
    gemeente: Mapped[str | None] = mapped_column(String(120))
    #: what the school knows of the company (sector, address, what it offers)
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ProposalStatus] = mapped_column(str_enum(ProposalStatus, "employer_proposal_status"),
                                                   default=ProposalStatus.pending)
    #: the entry on the map the editors chose when they added the company
    service_id: Mapped[int | None] = mapped_column(ForeignKey("socialmap_service.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decline_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    school: Mapped[Organisation] = relationship()
    service: Mapped[Service | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<EmployerProposal {self.id} {self.status}>"


class Placement(db.Model):
    """One internship or work placement of a student, on the student's route."""

    __tablename__ = "placement"
    __table_args__ = (
        # the overlap check and the route's list: a student's live placements
        Index("ix_placement_student_status", "student_id", "status"),
        # the school's list, newest first
        Index("ix_placement_school_status", "school_id", "status", "start_date"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
        CheckConstraint("organisation_id IS NOT NULL OR proposal_id IS NOT NULL", name="has_company"),
        # a reason iff ended early (the status form asks for it, the table keeps it so)
        CheckConstraint("(status = 'ended_early') = (end_reason IS NOT NULL)", name="reason_iff_ended_early"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the id of the placement outside the hub (webhooks, the API) and the encryption's row binding
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    kind: Mapped[PlacementKind] = mapped_column(str_enum(PlacementKind, "placement_kind"))
    status: Mapped[PlacementStatus] = mapped_column(str_enum(PlacementStatus, "placement_status"),
                                                    default=PlacementStatus.planned)
    # the company: an employer entry of the sociale kaart, or a proposal of a new one
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"),
                                                        index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("socialmap_service.id", ondelete="SET NULL"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("employer_proposal.id", ondelete="SET NULL"),
                                                    index=True)
    #: the function or work (the assessment's "Functie"; copying werkprocessen matches on it)
    function: Mapped[str] = mapped_column(String(200))
    # the praktijkopleider at the company (DOMAIN.md: praktijkbegeleider)
    trainer_name: Mapped[str] = mapped_column(String(200))
    trainer_function: Mapped[str | None] = mapped_column(String(120))
    #: where the employer's assessment link goes (item 4); may be missing: see can_send_assessment_link
    trainer_email: Mapped[str | None] = mapped_column(String(254))
    trainer_phone: Mapped[str | None] = mapped_column(String(40))
    #: the school's stagebegeleider (seed 001: the mentor; one aanspreekpunt)
    supervisor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"),
                                                              index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    #: minutes per working day: ``{"ma": 360, "di": 360}`` (keys: referrals.placements.states.Weekday)
    schedule: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the student starts with a begeleider (a jobcoach) rather than alone (seed 001, 5.2)
    with_coach: Mapped[bool] = mapped_column(Boolean, default=False)
    coach_name: Mapped[str | None] = mapped_column(String(200))
    #: the learning goals, a JSON list of texts, encrypted (they speak of the student)
    learning_goals_encrypted: Mapped[str | None] = mapped_column(Text)
    #: the school-naar-werk-plan (and its version) the learning goals were taken from
    goals_agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agreement.id", ondelete="SET NULL"))
    goals_agreement_version: Mapped[int | None] = mapped_column(Integer)
    #: the werkprocessen of the function, a JSON list of texts (rated in the assessment, item 4)
    werkprocessen: Mapped[list] = mapped_column(JSON, default=list)
    #: the day it actually started, and the day it actually ended (completed or ended early)
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(500))
    #: on completion: did the company hire the student afterwards (None: not known)
    hired: Mapped[bool | None] = mapped_column(Boolean)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: optimistic lock: every change raises it; a form or a status change from an older one is a conflict
    version: Mapped[int] = mapped_column(Integer, default=1)

    route: Mapped[Route] = relationship()
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])
    service: Mapped[Service | None] = relationship()
    proposal: Mapped[EmployerProposal | None] = relationship()
    supervisor: Mapped[Account | None] = relationship()
    events: Mapped[list[PlacementEvent]] = relationship(back_populates="placement", cascade="all, delete-orphan",
                                                        order_by="PlacementEvent.id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Placement {self.id} {self.kind} {self.status}>"

    def goals_ref(self) -> FieldRef:
        return FieldRef("placement", "learning_goals", str(self.uuid))

    @property
    def company_name(self) -> str:
        """The company as the school knows it: the map's organisation, else the proposed name."""
        if self.organisation is not None:
            return self.organisation.name
        return self.proposal.name if self.proposal is not None else ""

    @property
    def can_send_assessment_link(self) -> bool:
        """Whether the employer's assessment link (item 4) has an address to go to."""
        return bool(self.trainer_email)

    @property
    def minutes_per_week(self) -> int:
        return sum(int(minutes) for minutes in (self.schedule or {}).values())


class PlacementEvent(db.Model):
    """What happened to a placement: registered, and each status step with its date (the
    actual start or end), its reason and who took it. The route's timeline reads these."""

    __tablename__ = "placement_event"
    __table_args__ = (Index("ix_placement_event_placement", "placement_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id", ondelete="CASCADE"))
    kind: Mapped[PlacementEventKind] = mapped_column(str_enum(PlacementEventKind, "placement_event_kind"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[PlacementStatus | None] = mapped_column(str_enum(PlacementStatus, "placement_event_from"))
    to_status: Mapped[PlacementStatus] = mapped_column(str_enum(PlacementStatus, "placement_event_to"))
    #: the day the step happened (the actual start or end); None for the registration
    on_date: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200))

    placement: Mapped[Placement] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<PlacementEvent {self.id} {self.kind} {self.to_status}>"
