"""Signed multi-party agreements per student: the school-naar-werk-plan and the AVG privacy
agreement (DESIGN.md rule 4).

An :class:`Agreement` has numbered :class:`AgreementVersion` rows. A version's content (the
plan's sections, or the privacy agreement's flows) is one JSON document, AES-GCM encrypted and
bound to the version row: it speaks of support needs and health. The parties of a version, with
their own commitment text, are part of what is signed; which of them sign, and in which order,
is chosen when the version is offered for signature (:class:`AgreementParty`). Each approval is
an :class:`AgreementSignature`: an Ed25519 signature over the canonical statement
``{agreement, version, version hash, party, role, signer, time, method, previous}``
(:mod:`consent.agreements.documents`), by the hub's key after a fresh login or by the
organisation's own registered key through the API. Signatures cannot vanish unnoticed:
:mod:`consent.agreements.integrity`.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import Account, Organisation, Student, str_enum


class AgreementKind(enum.StrEnum):
    plan = "plan"
    privacy = "privacy"


class AgreementStatus(enum.StrEnum):
    """The agreement as a whole: ``active`` once any version was signed by every required party."""

    draft = "draft"
    awaiting = "awaiting"
    active = "active"
    ended = "ended"


class VersionStatus(enum.StrEnum):
    #: being written; edits change it in place
    draft = "draft"
    #: offered for signature: frozen; an edit makes a new version and withdraws this one
    awaiting = "awaiting"
    #: every required party signed this version
    active = "active"
    #: a newer version became active, or was made while this one waited for signatures
    superseded = "superseded"
    #: a party declined to sign (with a reason); a new version is needed
    declined = "declined"
    #: the agreement was ended while this version was active
    ended = "ended"


class SigningOrder(enum.StrEnum):
    parallel = "parallel"
    sequential = "sequential"


class PartyKind(enum.StrEnum):
    #: the student (signed by the legal representative while under 16)
    student = "student"
    #: an organisation of the network: the school or a partner
    organisation = "organisation"


class SignatureMethod(enum.StrEnum):
    """How the signer proved, just before signing, that it is them."""

    password = "password"  # nosec B105 # a signing method's name, not a password
    totp = "totp"
    #: a partner system, with its organisation's registered Ed25519 key
    organisation_key = "organisation-key"


class Agreement(db.Model):
    __tablename__ = "agreement"
    __table_args__ = (
        Index("ix_agreement_student_kind", "student_id", "kind"),
        # one open agreement of each kind per student: two started at once (a double click)
        # cannot both be made, whatever the order of their checks
        Index("ux_agreement_one_open", "student_id", "kind", unique=True,
              postgresql_where=text("status <> 'ended'"), sqlite_where=text("status <> 'ended'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[AgreementKind] = mapped_column(str_enum(AgreementKind, "agreement_kind"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    #: the school that owns the agreement (the student's school when it was made)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[AgreementStatus] = mapped_column(str_enum(AgreementStatus, "agreement_status"),
                                                    default=AgreementStatus.draft)
    #: the short code printed on paper and in the QR code: ``/controle/<code>``
    verify_code: Mapped[str] = mapped_column(String(16), unique=True)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(500))
    #: optimistic lock: every edit raises it, a stale form gets a conflict
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    student: Mapped[Student] = relationship()
    school: Mapped[Organisation] = relationship()
    versions: Mapped[list[AgreementVersion]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="AgreementVersion.number")

    __mapper_args__ = {"version_id_col": row_version}

    def __repr__(self) -> str:
        return f"<Agreement {self.id} {self.kind} {self.status}>"

    @property
    def latest(self) -> AgreementVersion:
        return self.versions[-1]

    @property
    def active_version(self) -> AgreementVersion | None:
        """The version that holds now: signed by every required party, not yet superseded."""
        return next((v for v in reversed(self.versions) if v.status is VersionStatus.active), None)


class AgreementVersion(db.Model):
    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(str_enum(VersionStatus, "agreement_version_status"),
                                                  default=VersionStatus.draft)
    #: the content document (JSON), AES-GCM encrypted, bound to this version row
    content_encrypted: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the canonical (RFC 8785) version document, set when offered for signature
    content_hash: Mapped[str | None] = mapped_column(String(64))
    signing_order: Mapped[SigningOrder] = mapped_column(str_enum(SigningOrder, "agreement_signing_order"),
                                                        default=SigningOrder.parallel)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agreement: Mapped[Agreement] = relationship(back_populates="versions")
    parties: Mapped[list[AgreementParty]] = relationship(back_populates="version", cascade="all, delete-orphan",
                                                         order_by="AgreementParty.position")
    signatures: Mapped[list[AgreementSignature]] = relationship(back_populates="version",
                                                                cascade="all, delete-orphan",
                                                                order_by="AgreementSignature.id")

    def __repr__(self) -> str:
        return f"<AgreementVersion {self.agreement_id} v{self.number} {self.status}>"

    def content_ref(self) -> FieldRef:
        return FieldRef("agreement_version", "content", f"{self.agreement_id}|{self.number}")


class AgreementParty(db.Model):
    """One party of a version, with its own commitment; ``signs`` and ``position`` are chosen
    when the version is offered (position orders a sequential signing)."""

    __tablename__ = "agreement_party"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id", ondelete="CASCADE"), index=True)
    #: stable within the agreement across versions (``student``, ``org-12``)
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[PartyKind] = mapped_column(str_enum(PartyKind, "agreement_party_kind"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"),
                                                        index=True)
    #: the party as named in the agreement (organisation name, or the student's name)
    name: Mapped[str] = mapped_column(String(200))
    #: the party's role in words: "leerling", "school", "jobcoach gemeente", or in a privacy
    #: agreement the AVG role (verwerkingsverantwoordelijke, gezamenlijk ..., verwerker)
    role: Mapped[str] = mapped_column(String(120))
    #: the consent purpose the partner works under; its staff read the agreement for it
    purpose: Mapped[str | None] = mapped_column(String(60))
    #: the contact person at the party (name and function), shown in the agreement
    contact: Mapped[str | None] = mapped_column(String(200))
    #: what this party commits to, in its own words (signed with the version)
    commitment: Mapped[str] = mapped_column(Text, default="")
    signs: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: when the last signature reminder went to this party (the job reminds every few days)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[AgreementVersion] = relationship(back_populates="parties")
    organisation: Mapped[Organisation | None] = relationship()

    def __repr__(self) -> str:
        return f"<AgreementParty {self.version_id} {self.key}>"


class AgreementSignature(db.Model):
    """A party's signature on one version, or its refusal (``declined`` with a reason).

    The signed statement is rebuilt from these columns and the version's content when
    verifying, so a change to any of them (or to the content) breaks the signature."""

    __tablename__ = "agreement_signature"
    __table_args__ = (UniqueConstraint("version_id", "party_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id", ondelete="CASCADE"), index=True)
    party_key: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(120))
    declined: Mapped[bool] = mapped_column(Boolean, default=False)
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    signer_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    signer_name: Mapped[str] = mapped_column(String(200))
    #: the organisation the signer acted for (None for the student or the representative)
    signer_organisation: Mapped[str | None] = mapped_column(String(200))
    #: set when a legal representative signs for a student under 16
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[SignatureMethod] = mapped_column(str_enum(SignatureMethod, "agreement_signature_method"))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: the version hash the signer approved (must equal the version's)
    version_hash: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str | None] = mapped_column(String(80))
    #: base64url Ed25519 signature over the canonical statement (None for a refusal)
    signature: Mapped[str | None] = mapped_column(String(200))
    #: the signatures already on the version when this one was made, as its statement names
    #: them (``[{"party", "hash"}]``, documents.chain): a later signature proves the earlier ones
    #: existed. None for a refusal, and for a signature made before issue 18 (its statement
    #: has no ``previous``)
    previous: Mapped[list | None] = mapped_column(JSON)

    version: Mapped[AgreementVersion] = relationship(back_populates="signatures")
    signer: Mapped[Account | None] = relationship()

    def __repr__(self) -> str:
        return f"<AgreementSignature {self.version_id} {self.party_key}>"


class AgreementEvent(db.Model):
    """What happened to an agreement, for the version list ("who changed what") and the
    timeline: edited (with the sections), offered, signed, declined, activated, ended, ..."""

    __tablename__ = "agreement_event"
    __table_args__ = (Index("ix_agreement_event_agreement_time", "agreement_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200))
    #: e.g. {"sections": ["phases", "parties"]} or {"party": "org-12"}
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[Agreement] = relationship()

    def __repr__(self) -> str:
        return f"<AgreementEvent {self.agreement_id} v{self.version_number} {self.kind}>"


class ReviewMoment(db.Model):
    """A dated critical success moment or review meeting from the plan's checks & balances;
    the review job reminds the plan's contact person on the day, once."""

    __tablename__ = "agreement_review_moment"
    __table_args__ = (Index("ix_agreement_review_due", "due_date", "reminded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    due_date: Mapped[dt.date] = mapped_column(Date)
    #: what the moment is about (no student data: shown in notifications)
    label: Mapped[str] = mapped_column(String(200))
    contact_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agreement: Mapped[Agreement] = relationship()

    def __repr__(self) -> str:
        return f"<ReviewMoment {self.agreement_id} {self.due_date}>"
