"""The hub and who is in it: regions, organisations, accounts, memberships and students, plus
the plumbing rows (web sessions, reset tokens, outbox, job runs) the core needs."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef, Keyring, mask_bsn
from network.db import UTCDateTime, db


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """Store a StrEnum by value, as a VARCHAR with a CHECK constraint (portable, migratable)."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class OrganisationType(enum.StrEnum):
    school = "school"
    gemeente = "gemeente"
    uwv = "uwv"
    wsp = "wsp"
    rmc = "rmc"
    sbb = "sbb"
    leerwerkloket = "leerwerkloket"
    mee = "mee"
    zorg = "zorg"
    werkgever = "werkgever"
    hub = "hub"
    other = "other"


class Role(enum.StrEnum):
    # school staff (seed 001: zorgcoördinator, mentor/SLB'er, BPV-begeleider, decaan)
    zorgcoordinator = "zorgcoordinator"
    mentor = "mentor"
    bpv_begeleider = "bpv_begeleider"
    decaan = "decaan"
    # everyone working for a partner organisation (gemeente, UWV, WSP, RMC, ...)
    partner_staff = "partner_staff"
    # the region's uitstroomcoördinator
    coordinator = "coordinator"
    hub_admin = "hub_admin"
    student = "student"


SCHOOL_STAFF_ROLES = frozenset({Role.zorgcoordinator, Role.mentor, Role.bpv_begeleider, Role.decaan})


class SchoolLevel(enum.StrEnum):
    entree = "entree"
    mbo2 = "mbo2"
    mbo3 = "mbo3"
    mbo4 = "mbo4"
    pro = "pro"
    vso = "vso"
    other = "other"


class Region(db.Model):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    #: short, URL-safe code, e.g. ``waalrand``
    code: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisations: Mapped[list[Organisation]] = relationship(back_populates="region")

    def __repr__(self) -> str:
        return f"<Region {self.id} {self.code}>"


class Organisation(db.Model):
    __tablename__ = "organisation"
    __table_args__ = (
        UniqueConstraint("region_id", "name"),
        CheckConstraint("type <> 'school' OR brin IS NOT NULL", name="school_has_brin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[OrganisationType] = mapped_column(str_enum(OrganisationType, "organisation_type"))
    #: BRIN of a school (4 characters, e.g. ``25LX``), validated with python-stdnum
    brin: Mapped[str | None] = mapped_column(String(6), unique=True)
    #: KvK number (8 digits) of a company or foundation
    kvk: Mapped[str | None] = mapped_column(String(8))
    #: OIN of a government body (20 digits)
    oin: Mapped[str | None] = mapped_column(String(20))
    gemeente: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    region: Mapped[Region] = relationship(back_populates="organisations")
    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.type} {self.name!r}>"


class Account(db.Model):
    """A person who can log in. Passwords are argon2id hashes; the TOTP secret is encrypted."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: always stored lower-cased and stripped
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the last accepted TOTP time step, so a code cannot be replayed
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Membership.id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Account {self.id}>"

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    def totp_ref(self) -> FieldRef:
        return FieldRef("account", "totp_secret", str(self.id))

    # -- Flask-Login's user interface (``is_active`` is the column above) --------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Plain id: logout, password change and deactivation end sessions server-side
        # (network.sessions), so the id needs no session-version suffix.
        return str(self.id)


class Membership(db.Model):
    """An account's role in an organisation; an account can hold several."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("account_id", "organisation_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "membership_role"))
    #: the function as people say it, e.g. "Jobcoach team jongeren"
    title: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")

    def __repr__(self) -> str:
        return f"<Membership {self.account_id}@{self.organisation_id} {self.role}>"


class Student(db.Model):
    """The data subject. The BSN is optional, AES-GCM encrypted and found by its blind index."""

    __tablename__ = "student"
    __table_args__ = (
        # Unique per school, not hub-wide: a hub-wide check would tell one school that another
        # school has registered this BSN.
        UniqueConstraint("school_id", "bsn_index"),
        Index("ix_student_school_name", "school_id", "last_name", "first_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(150))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(7))
    city: Mapped[str | None] = mapped_column(String(100))
    parent_name: Mapped[str | None] = mapped_column(String(200))
    parent_email: Mapped[str | None] = mapped_column(String(254))
    parent_phone: Mapped[str | None] = mapped_column(String(40))
    programme: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[SchoolLevel] = mapped_column(str_enum(SchoolLevel, "school_level"))
    expected_exit_date: Mapped[dt.date | None] = mapped_column(Date)
    bsn_encrypted: Mapped[str | None] = mapped_column(Text)
    #: HMAC-SHA256 of the BSN under the blind-index key; for look-ups, never reversible
    bsn_index: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    school: Mapped[Organisation] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Student {self.id}>"  # never the name or BSN

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def bsn_ref(self) -> FieldRef:
        return FieldRef("student", "bsn", str(self.id))

    def set_bsn(self, keyring: Keyring, bsn: str | None) -> None:
        if self.id is None:
            self.id = uuid.uuid4()  # the id is part of the ciphertext's associated data
        if not bsn:
            self.bsn_encrypted = self.bsn_index = None
            return
        self.bsn_encrypted = keyring.encrypt(bsn, self.bsn_ref())
        self.bsn_index = keyring.blind_index("bsn", bsn)

    def get_bsn(self, keyring: Keyring) -> str | None:
        return keyring.decrypt(self.bsn_encrypted, self.bsn_ref()) if self.bsn_encrypted else None

    def masked_bsn(self, keyring: Keyring) -> str | None:
        bsn = self.get_bsn(keyring)
        return mask_bsn(bsn) if bsn else None


class WebSession(db.Model):
    """A server-side browser session. The cookie holds a random id; this row holds its hash."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:
        return f"<WebSession account={self.account_id}>"


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token sent by e-mail; the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<PasswordResetToken {self.id} account={self.account_id}>"


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"


class OutboxMessage(db.Model):
    """A side effect written in the same transaction as the change that causes it and delivered
    after commit by the outbox job, with retries: an e-mail (``kind`` "email") or a webhook
    call to a partner system (``kind`` "webhook": ``recipient`` is the subscription's URL,
    ``subject`` the event type, the body the thin event; see network.webhooks). The body is
    encrypted because it can hold a reset link."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20), default="email")
    recipient: Mapped[str] = mapped_column(String(500))
    #: the webhook subscription a webhook message goes to (network.webhooks)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status}>"

    def body_ref(self) -> FieldRef:
        return FieldRef("outbox_message", "body", str(self.id))


class JobRun(db.Model):
    """One run of a scheduled job for one time slot. The unique key makes a second scheduler
    (or a restart inside the same slot) skip work that already ran."""

    __tablename__ = "job_run"
    #: the second index answers "when did each job last start, succeed, fail" (network.health)
    __table_args__ = (UniqueConstraint("job_id", "slot"), Index("ix_job_run_job_outcome_started", "job_id", "outcome",
                                                                 "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(80))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<JobRun {self.job_id} {self.slot.isoformat()}>"


class SchedulerHeartbeat(db.Model):
    """One row per running scheduler process, its ``beat_at`` renewed every
    ``SCHEDULER_HEARTBEAT_SECONDS``: the sign that the one process that sends mail, seals the
    audit log and expires consents is alive (:mod:`network.health`). Housekeeping removes the
    rows of processes gone for a day."""

    __tablename__ = "scheduler_heartbeat"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<SchedulerHeartbeat {self.host}:{self.pid}>"


class OrganisationKey(db.Model):
    """The public half of an organisation's own Ed25519 key, registered by a hub admin, with
    which its partner system signs (agreements) through the API. Published in the JWKS next to
    the hub's keys, so signatures made with it verify with ``/.well-known/jwks.json`` alone.
    A revoked key stays published: signatures made before the revocation remain checkable."""

    __tablename__ = "organisation_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: ``org<organisation id>-<random>``: unique among the hub's and every organisation's keys
    kid: Mapped[str] = mapped_column(String(80), unique=True)
    #: the raw 32-byte Ed25519 public key, base64url (the JWK ``x``)
    public_key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<OrganisationKey {self.kid}>"

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": self.public_key}
