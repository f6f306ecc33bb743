"""The sociale kaart: services of organisations, their contact points and locations, the
"waarvoor te benaderen" catalogue, employer offers, capacity, freshness and change history.

Ids: every row that HSDS publishes carries a UUID (HSDS ids are UUIDs, and imports keep
theirs). A service also has an integer primary key, because the SQLite full-text index
(FTS5, external content) needs a stable integer rowid; URLs and the API use the UUID.

The full-text index itself is not in these models: the migration creates it per engine (an
FTS5 table with triggers on SQLite, a generated ``tsvector`` column with GIN indexes on
PostgreSQL) and ``network.models_index.UNMODELLED`` keeps it out of the model comparison.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.db import UTCDateTime, db
from network.models import Organisation, str_enum


class CapacityStatus(enum.StrEnum):
    plek = "plek"
    wachtlijst = "wachtlijst"
    eerst_overleg = "eerst_overleg"
    vol = "vol"


class ServiceStatus(enum.StrEnum):
    """HSDS 3.0 service status (the values are the spec's, including the space)."""

    active = "active"
    inactive = "inactive"
    defunct = "defunct"
    temporarily_closed = "temporarily closed"


class TagVocabulary(enum.StrEnum):
    #: eligibility: entree, PrO, VSO, mbo 2-4, Doelgroepregister, ...
    target_group = "doelgroep"
    #: what an employer offers (aangepaste werkplek, coaching on the job, ...)
    offer = "aanbod"
    #: area served: a gemeente, by name
    gemeente = "gemeente"


service_category = Table(
    "socialmap_service_category",
    db.metadata,
    Column("service_id", ForeignKey("socialmap_service.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("socialmap_category.id", ondelete="RESTRICT"), primary_key=True,
           index=True),
)


class Category(db.Model):
    """One "waarvoor te benaderen" term (overleg, begeleiding, ...): data the hub admin edits;
    published as an HSDS taxonomy term (``uuid``)."""

    __tablename__ = "socialmap_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    #: stable, URL-safe code, e.g. ``werkgeversnetwerk``
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


class OrganisationProfile(db.Model):
    """An organisation as the sociale kaart publishes it (HSDS ``organization``): its HSDS id
    and a public description. Made when the organisation gets its first entry or is imported."""

    __tablename__ = "socialmap_organisation"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                                 primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    alternate_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<OrganisationProfile {self.organisation_id}>"


class Service(db.Model):
    """What an organisation offers: an entry of the sociale kaart (HSDS ``service``)."""

    __tablename__ = "socialmap_service"
    __table_args__ = (
        Index("ix_socialmap_service_status_verified", "status", "verified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    alternate_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    #: afdeling: team jongeren, werk en inkomen, VSV, jobcoach, ...
    department: Mapped[str | None] = mapped_column(String(120))
    url: Mapped[str | None] = mapped_column(String(300))
    #: the service's general (public) e-mail address and phone; personal ones are contacts
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: the HSDS id of ``phone`` (kept from imports)
    phone_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    #: postcodes or ranges served, e.g. ``6511-6519, 6600``
    area_postcodes: Mapped[str | None] = mapped_column(String(500))
    opening_hours: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[CapacityStatus | None] = mapped_column(str_enum(CapacityStatus, "socialmap_capacity"))
    capacity_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: working days within which a referral to this service gets an answer (None: the default, 5)
    response_days: Mapped[int | None] = mapped_column(Integer)
    #: inside the school (stagebureau, jobfinder, team passend onderwijs) rather than external
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ServiceStatus] = mapped_column(str_enum(ServiceStatus, "socialmap_service_status"),
                                                  default=ServiceStatus.active)
    #: HSDS assured_date / assurer_email: the last time someone confirmed the entry is right
    assured_date: Mapped[dt.date | None] = mapped_column(Date)
    assurer_email: Mapped[str | None] = mapped_column(String(254))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the last "klopt dit nog?" e-mail went out (None: not asked since the last check)
    verify_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # employers (seed 002): sector and SBB recognition; what they offer is in the tags
    sector: Mapped[str | None] = mapped_column(String(120))
    sbb_recognised: Mapped[bool] = mapped_column(Boolean, default=False)
    #: search helper kept by the service layer: category names, department, sector, target
    #: groups, offers, gemeenten and the organisation's name (never personal data)
    keywords: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    organisation: Mapped[Organisation] = relationship()
    categories: Mapped[list[Category]] = relationship(secondary=service_category, order_by=Category.position)
    tags: Mapped[list[ServiceTag]] = relationship(back_populates="service", cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(back_populates="service", cascade="all, delete-orphan",
                                                   order_by="Contact.position")
    locations: Mapped[list[ServiceLocation]] = relationship(back_populates="service",
                                                            cascade="all, delete-orphan")
    postcode_ranges: Mapped[list[PostcodeRange]] = relationship(cascade="all, delete-orphan",
                                                                passive_deletes=True)
    #: what schools ask of a stagebedrijf (employer entries only; None until filled in)
    employer_offer: Mapped[EmployerOffer | None] = relationship(cascade="all, delete-orphan",
                                                                passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Service {self.id} {self.name!r}>"

    def tag_codes(self, vocabulary: TagVocabulary) -> list[str]:
        return sorted(t.code for t in self.tags if t.vocabulary == vocabulary)


class EmployerOffer(db.Model):
    """What schools ask of an employer entry as a stagebedrijf (issue 19, item 5; seed 002):
    internship places per placement kind (codes of :data:`socialmap.vocab.PLACE_KINDS`), the
    adaptations of the workplace (:data:`socialmap.vocab.ADAPTATIONS`), a trained
    praktijkopleider, the functions with their werkprocessen, leerbaan/BBL, the SBB number
    (recognition itself is :attr:`Service.sbb_recognised`) and experience with the banenafspraak
    and loonkostensubsidie. Company data only. Edited by the entry's editors
    (:mod:`socialmap.employer_offer`), with the entry's change history."""

    __tablename__ = "socialmap_employer_offer"

    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="CASCADE"), primary_key=True)
    #: ``{"eindstage": 2, "bpv": 1}``: internship places per placement kind
    places: Mapped[dict] = mapped_column(JSON, default=dict)
    #: codes of socialmap.vocab.ADAPTATIONS
    adaptations: Mapped[list] = mapped_column(JSON, default=list)
    trained_trainer: Mapped[bool] = mapped_column(Boolean, default=False)
    trained_since: Mapped[dt.date | None] = mapped_column(Date)
    #: ``[{"name": "Orderpicker", "werkprocessen": ["Orders verzamelen", ...]}]``
    functions: Mapped[list] = mapped_column(JSON, default=list)
    bbl_possible: Mapped[bool] = mapped_column(Boolean, default=False)
    sbb_number: Mapped[str | None] = mapped_column(String(20))
    banenafspraak: Mapped[bool] = mapped_column(Boolean, default=False)
    loonkostensubsidie: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<EmployerOffer {self.service_id}>"

    @property
    def total_places(self) -> int:
        return sum(int(n) for n in (self.places or {}).values())


class ServiceTag(db.Model):
    """A code from a fixed vocabulary (target group, employer offer, gemeente served)."""

    __tablename__ = "socialmap_service_tag"
    __table_args__ = (Index("ix_socialmap_service_tag_lookup", "vocabulary", "code"),)

    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="CASCADE"), primary_key=True)
    vocabulary: Mapped[TagVocabulary] = mapped_column(str_enum(TagVocabulary, "socialmap_tag_vocabulary"),
                                                      primary_key=True)
    code: Mapped[str] = mapped_column(String(120), primary_key=True)

    service: Mapped[Service] = relationship(back_populates="tags")

    def __repr__(self) -> str:
        return f"<ServiceTag {self.vocabulary}:{self.code}>"


class Contact(db.Model):
    """A contact person of a service. Personal: shown to logged-in network members only."""

    __tablename__ = "socialmap_contact"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: the function, e.g. "Jobcoach" or "Adviseur praktijkleren"
    title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer, default=0)

    service: Mapped[Service] = relationship(back_populates="contacts")

    def __repr__(self) -> str:
        return f"<Contact {self.id}>"


class ServiceLocation(db.Model):
    """Where a service is given (HSDS ``service_at_location`` with its ``location`` folded in)."""

    __tablename__ = "socialmap_service_location"

    #: the HSDS service_at_location id
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="CASCADE"), index=True)
    location_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)
    address_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(500))

    service: Mapped[Service] = relationship(back_populates="locations")

    def __repr__(self) -> str:
        return f"<ServiceLocation {self.id}>"


class ServiceChange(db.Model):
    """One changed field of an entry: who, when, field, old and new value (HSDS ``metadata``)."""

    __tablename__ = "socialmap_change"
    __table_args__ = (Index("ix_socialmap_change_service_time", "service_id", "changed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="CASCADE"))
    #: ``service``, ``contact`` or ``location``
    resource_type: Mapped[str] = mapped_column(String(30))
    resource_id: Mapped[str] = mapped_column(String(36))
    #: create, update, delete or verify
    action: Mapped[str] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    account_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200))
    organisation_name: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<ServiceChange {self.service_id} {self.field}>"


class PostcodeRange(db.Model):
    """One postcode range of a service's area (``area_postcodes`` parsed: ``6511-6519`` is
    6511..6519, ``6600`` and ``6511 AB`` are 6600..6600 and 6511..6511), kept by the service
    layer so that HSDS ``postcode`` can filter with an index instead of parsing text."""

    __tablename__ = "socialmap_postcode_range"
    __table_args__ = (Index("ix_socialmap_postcode_range_low_high", "low", "high"),)

    service_id: Mapped[int] = mapped_column(ForeignKey("socialmap_service.id", ondelete="CASCADE"), primary_key=True)
    low: Mapped[int] = mapped_column(Integer, primary_key=True)
    high: Mapped[int] = mapped_column(Integer, primary_key=True)

    def __repr__(self) -> str:
        return f"<PostcodeRange {self.service_id} {self.low}-{self.high}>"


class PendingImport(db.Model):
    """A checked spreadsheet upload waiting for the editor's confirmation. Nothing of it is in
    the entries until the confirm POST; then it is applied and marked confirmed. ``payload``
    is the parsed rows as JSON (never the file itself)."""

    __tablename__ = "socialmap_pending_import"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200))
    #: csv or xlsx
    file_format: Mapped[str] = mapped_column(String(10))
    payload: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    #: pending, confirmed or cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<PendingImport {self.id} {self.status}>"
