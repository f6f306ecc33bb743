"""Consent: the catalogues (purposes, data categories, legal tasks), the consent records with
their per-category items and signed receipts, consent requests from school staff, and the
representation of a student by a parent, guardian, curator or mentor."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

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
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.access import Category
from network.clock import utcnow
from network.db import UTCDateTime, db
from network.models import Account, Organisation, OrganisationType, Student, str_enum


class ConsentStatus(enum.StrEnum):
    active = "active"
    withdrawn = "withdrawn"
    expired = "expired"


class Channel(enum.StrEnum):
    portal = "portal"
    in_person = "in_person"
    paper = "paper"


class GivenBy(enum.StrEnum):
    student = "student"
    representative = "representative"


class Relation(enum.StrEnum):
    parent = "ouder"
    guardian = "voogd"
    other = "andere_vertegenwoordiger"
    #: appointed by the kantonrechter for an adult (curatele: all matters; mentorschap: care matters)
    curator = "curator"
    mentor = "mentor"


class RequestStatus(enum.StrEnum):
    open = "open"
    answered = "answered"
    cancelled = "cancelled"


class ReceiptKind(enum.StrEnum):
    grant = "grant"
    withdraw = "withdraw"


# -- catalogues (data, edited by the hub admin) ----------------------------------------------

class DataCategory(db.Model):
    """A category of student data. The code is a :class:`~network.access.Category` value;
    label, description and the special flag (AVG art. 9/10) are data."""

    __tablename__ = "consent_data_category"

    code: Mapped[Category] = mapped_column(str_enum(Category, "data_category"), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: special category (health/support need, justice): needs its own explicit tick
    is_special: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<DataCategory {self.code}>"


class PurposeCategory(db.Model):
    """A category a purpose needs (and so the only ones a consent for it may cover)."""

    __tablename__ = "consent_purpose_category"

    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purpose.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), ForeignKey("consent_data_category.code", ondelete="RESTRICT"),
                                          primary_key=True)

    def __repr__(self) -> str:
        return f"<PurposeCategory {self.purpose_id} {self.category}>"


class PurposeRecipientType(db.Model):
    """An organisation type that may receive data for a purpose (a consent or a legal task for
    it names a recipient of one of these types, never another: no employer for "uitkering")."""

    __tablename__ = "consent_purpose_recipient_type"

    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purpose.id", ondelete="CASCADE"), primary_key=True)
    organisation_type: Mapped[OrganisationType] = mapped_column(
        str_enum(OrganisationType, "purpose_recipient_type"), primary_key=True)

    def __repr__(self) -> str:
        return f"<PurposeRecipientType {self.purpose_id} {self.organisation_type}>"


class Purpose(db.Model):
    __tablename__ = "consent_purpose"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable code used in decisions and the audit log, e.g. ``jobcoaching``
    code: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    needed: Mapped[list[PurposeCategory]] = relationship(cascade="all, delete-orphan")
    recipients: Mapped[list[PurposeRecipientType]] = relationship(cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Purpose {self.code}>"

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(Category(item.category) for item in self.needed)

    @property
    def recipient_types(self) -> frozenset[OrganisationType]:
        """The organisation types that may receive data for this purpose."""
        return frozenset(item.organisation_type for item in self.recipients)


class TaskScope(enum.StrEnum):
    """Whom a legal task's law covers beyond its organisation type and region; checked on every
    decision by the check registered under this name (:func:`network.access.register_task_scope`)."""

    #: leavers without a startkwalificatie under 23, PrO/VSO pupils after their exit, and the
    #: route follow-up the region configured (:class:`RegionTaskScope`)
    rmc = "rmc"
    #: students with an open doelgroepregister or banenafspraak matter (a referral or route step)
    uwv = "uwv"


class RouteFollowup(enum.StrEnum):
    """Which routes in follow-up (nazorg) a region puts under the RMC's task."""

    none = "none"
    #: the routes with two years of RMC follow-up (entree, an RMC or School-ex referral)
    rmc = "rmc"
    all = "all"


#: the law's settings of the legal tasks' scopes: a region without a :class:`RegionTaskScope`
#: row has these (the one place they are written; the columns' defaults and the checks read them)
TASK_SCOPE_DEFAULTS: dict[str, Any] = {"rmc_leavers": True, "rmc_max_age": 23, "rmc_pro_vso": True,
                                       "rmc_route_followup": RouteFollowup.rmc, "uwv_open_referrals": True,
                                       "uwv_route_steps": True}


class RegionTaskScope(db.Model):
    """A region's settings of the legal tasks' scopes (no row: :data:`TASK_SCOPE_DEFAULTS`)."""

    __tablename__ = "consent_region_task_scope"
    __table_args__ = (CheckConstraint("rmc_max_age BETWEEN 16 AND 30", name="rmc_max_age_range"),)

    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), primary_key=True)
    #: RMC: leavers (exit recorded, or reported as voortijdig schoolverlater) without a startkwalificatie
    rmc_leavers: Mapped[bool] = mapped_column(Boolean, default=TASK_SCOPE_DEFAULTS["rmc_leavers"])
    #: RMC: ... younger than this (the law: 23)
    rmc_max_age: Mapped[int] = mapped_column(Integer, default=TASK_SCOPE_DEFAULTS["rmc_max_age"])
    #: RMC: PrO and VSO pupils after their exit
    rmc_pro_vso: Mapped[bool] = mapped_column(Boolean, default=TASK_SCOPE_DEFAULTS["rmc_pro_vso"])
    rmc_route_followup: Mapped[RouteFollowup] = mapped_column(str_enum(RouteFollowup, "rmc_route_followup"),
                                                              default=TASK_SCOPE_DEFAULTS["rmc_route_followup"])
    #: UWV: an open referral for the doelgroepregister
    uwv_open_referrals: Mapped[bool] = mapped_column(Boolean, default=TASK_SCOPE_DEFAULTS["uwv_open_referrals"])
    #: UWV: a route whose doelgroepregister step runs
    uwv_route_steps: Mapped[bool] = mapped_column(Boolean, default=TASK_SCOPE_DEFAULTS["uwv_route_steps"])
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    def __repr__(self) -> str:
        return f"<RegionTaskScope {self.region_id}>"


class LegalTaskCategory(db.Model):
    __tablename__ = "consent_legal_task_category"

    legal_task_id: Mapped[int] = mapped_column(ForeignKey("consent_legal_task.id", ondelete="CASCADE"),
                                               primary_key=True)
    category: Mapped[str] = mapped_column(String(32), ForeignKey("consent_data_category.code", ondelete="RESTRICT"),
                                          primary_key=True)

    def __repr__(self) -> str:
        return f"<LegalTaskCategory {self.legal_task_id} {self.category}>"


class LegalTask(db.Model):
    """A basis that is not consent: organisations of ``organisation_type`` may process these
    categories for ``purpose`` by law (AVG art. 6(1)(c)/(e)), e.g. RMC follow-up of leavers."""

    __tablename__ = "consent_legal_task"
    __table_args__ = (UniqueConstraint("organisation_type", "purpose_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_type: Mapped[OrganisationType] = mapped_column(str_enum(OrganisationType, "legal_task_org_type"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purpose.id", ondelete="RESTRICT"), index=True)
    #: the basis as the audit log names it: ``legal_task:<code>``
    code: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(160))
    #: the law, in words the student can look up
    legal_reference: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    #: only for students of schools in the organisation's own region
    own_region_only: Mapped[bool] = mapped_column(Boolean, default=True)
    #: whom the law covers beyond type and region (None: every student of the region rule)
    scope: Mapped[TaskScope | None] = mapped_column(str_enum(TaskScope, "legal_task_scope"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    purpose: Mapped[Purpose] = relationship()
    items: Mapped[list[LegalTaskCategory]] = relationship(cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<LegalTask {self.organisation_type}:{self.code}>"

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(Category(item.category) for item in self.items)


# -- consents --------------------------------------------------------------------------------

class ConsentItem(db.Model):
    """One category a consent covers; special categories carry their explicit tick."""

    __tablename__ = "consent_item"

    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), ForeignKey("consent_data_category.code", ondelete="RESTRICT"),
                                          primary_key=True)
    #: the student (or representative) ticked this special category separately (AVG art. 9(2)(a))
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<ConsentItem {self.consent_id} {self.category}>"


class Consent(db.Model):
    """Student × recipient organisation × purpose × categories × validity, with its evidence."""

    __tablename__ = "consent"
    __table_args__ = (
        # the access decision's one query: a student's consents for a recipient
        Index("ix_consent_lookup", "student_id", "recipient_id", "status"),
        Index("ix_consent_status_until", "status", "valid_until"),
        # one active consent per student, recipient and purpose: two grants at once (a double
        # click) cannot both be recorded, whatever the order of their checks
        Index("ux_consent_one_active", "student_id", "recipient_id", "purpose_id", unique=True,
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
        CheckConstraint("valid_until >= valid_from", name="valid_range"),
        CheckConstraint("given_by <> 'representative' OR representative_name IS NOT NULL",
                        name="representative_named"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purpose.id", ondelete="RESTRICT"), index=True)
    status: Mapped[ConsentStatus] = mapped_column(str_enum(ConsentStatus, "consent_status"),
                                                  default=ConsentStatus.active)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    given_by: Mapped[GivenBy] = mapped_column(str_enum(GivenBy, "consent_given_by"))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_relation: Mapped[Relation | None] = mapped_column(str_enum(Relation, "representative_relation"))
    representative_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "consent_channel"))
    #: the version of the consent text shown, and SHA-256 of the exact text
    text_version: Mapped[str] = mapped_column(String(40))
    text_hash: Mapped[str] = mapped_column(String(64))
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    recorded_by_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"))
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_name: Mapped[str | None] = mapped_column(String(200))
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: set when the 30-day reminder went out (so it goes out once)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    student: Mapped[Student] = relationship()
    recipient: Mapped[Organisation] = relationship(foreign_keys=[recipient_id])
    purpose: Mapped[Purpose] = relationship()
    items: Mapped[list[ConsentItem]] = relationship(cascade="all, delete-orphan", order_by="ConsentItem.category")
    receipts: Mapped[list[ConsentReceipt]] = relationship(back_populates="consent",
                                                          order_by="ConsentReceipt.created_at")
    recorded_by: Mapped[Account | None] = relationship(foreign_keys=[recorded_by_account_id])

    def __repr__(self) -> str:
        return f"<Consent {self.id} {self.status}>"

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(Category(item.category) for item in self.items)


class ConsentReceipt(db.Model):
    """A signed Kantara-style consent receipt for one grant or withdrawal."""

    __tablename__ = "consent_receipt"

    #: the receipt's ``consentReceiptID``
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReceiptKind] = mapped_column(str_enum(ReceiptKind, "receipt_kind"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: RFC 8785 canonical JSON of the receipt: exactly the signed bytes
    payload: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(200))

    consent: Mapped[Consent] = relationship(back_populates="receipts")

    def __repr__(self) -> str:
        return f"<ConsentReceipt {self.id} {self.kind}>"


class ConsentRequest(db.Model):
    """School staff ask a student for consent; the student answers it in the portal."""

    __tablename__ = "consent_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("consent_purpose.id", ondelete="RESTRICT"))
    #: the requested category codes, space-separated (validated against the purpose)
    categories: Mapped[str] = mapped_column(String(300))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "consent_request_status"),
                                                  default=RequestStatus.open)
    requested_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    requested_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id", ondelete="SET NULL"))

    recipient: Mapped[Organisation] = relationship()
    purpose: Mapped[Purpose] = relationship()

    def __repr__(self) -> str:
        return f"<ConsentRequest {self.id} {self.status}>"

    @property
    def category_list(self) -> list[Category]:
        return [Category(code) for code in self.categories.split()]


class Representation(db.Model):
    """An account acting for a student, recorded by school staff: a parent or guardian while the
    student is under 16, or a curator or mentor while the court's measure runs (:mod:`consent.measures`)."""

    __tablename__ = "consent_representation"
    __table_args__ = (
        UniqueConstraint("account_id", "student_id"),
        CheckConstraint("relation NOT IN ('curator', 'mentor') OR (court IS NOT NULL AND decision_date IS NOT NULL "
                        "AND decision_reference IS NOT NULL)", name="measure_evidence"),
        CheckConstraint("ends_on IS NULL OR ends_on >= decision_date", name="measure_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, "representation_relation"))
    #: curatele/mentorschap only: the kantonrechter's decision (court, date, reference) and its end
    court: Mapped[str | None] = mapped_column(String(200))
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    decision_reference: Mapped[str | None] = mapped_column(String(100))
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    student: Mapped[Student] = relationship()

    def __repr__(self) -> str:
        return f"<Representation {self.account_id}->{self.student_id}>"
