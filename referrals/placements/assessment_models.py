"""The employer's assessment of a placement (issue 19, item 4; seed 001, Bijlage 5.4).

One row per assessment asked of the praktijkopleider: requested (a personal link is out),
then submitted (read-only from then on). The link's token is random; only its SHA-256 is
stored (:func:`network.crypto.token_hash`), bound to this assessment of this placement, with an
expiry and a revocation stamp. Sending again issues a new token (the old one stops working).

The scores (werkprocessen and competence items, codes of :mod:`.assessment_form`) and the
ticked "meer aandacht" items are plain; the free text the assessor writes (the eindoordeel's
two open answers and the toelichting) speaks of the student and is stored AES-GCM encrypted,
as the placement's learning goals are (:meth:`PlacementAssessment.text_ref`).

The header (company, setting, function, assessor, begeleider) is copied from the placement
when the assessment is submitted, so the result keeps reading as it was signed.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import str_enum
from referrals.placements.models import Placement


class AssessmentStatus(enum.StrEnum):
    requested = "requested"
    submitted = "submitted"


class AssessmentChannel(enum.StrEnum):
    """How the praktijkopleider gets it: a personal link by e-mail (no account), or, for a
    company with accounts in the hub, its staff's list of assessments to fill in."""

    link = "link"
    inbox = "inbox"


class PlacementAssessment(db.Model):
    __tablename__ = "placement_assessment"
    __table_args__ = (
        # a student's earlier assessments (the comparison), newest first
        Index("ix_placement_assessment_student", "student_id", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    status: Mapped[AssessmentStatus] = mapped_column(str_enum(AssessmentStatus, "placement_assessment_status"),
                                                     default=AssessmentStatus.requested)
    #: :class:`AssessmentChannel`: ``link`` (e-mail, no account) or ``inbox`` (the company's staff in the hub)
    channel: Mapped[str] = mapped_column(String(10), default=AssessmentChannel.link.value,
                                         server_default=AssessmentChannel.link.value)
    # the personal link: only the hash of the token is kept (none for the inbox)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: the praktijkopleider's address, or the company's name for the inbox
    sent_to: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by_name: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_name: Mapped[str | None] = mapped_column(String(200))
    # the header as signed (copied from the placement on submission)
    company_name: Mapped[str | None] = mapped_column(String(200))
    setting: Mapped[str | None] = mapped_column(String(120))
    function: Mapped[str | None] = mapped_column(String(200))
    assessor_name: Mapped[str | None] = mapped_column(String(200))
    supervisor_name: Mapped[str | None] = mapped_column(String(200))
    assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    # the eindoordeel's yes/no questions
    would_hire: Mapped[bool | None] = mapped_column(Boolean)
    can_develop: Mapped[bool | None] = mapped_column(Boolean)
    #: ``[{"werkproces": text, "score": code}]`` in the placement's order
    werkproces_scores: Mapped[list] = mapped_column(JSON, default=list)
    #: ``{"1a": code, …}`` for every item of assessment_form.GROUPS
    competence_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the ticked "meer aandacht" keys
    attention: Mapped[list] = mapped_column(JSON, default=list)
    #: ``{"if_not": …, "if_so": …, "toelichting": …}``, encrypted
    texts_encrypted: Mapped[str | None] = mapped_column(Text)
    #: the assessor's confirmation: the name typed under "ik bevestig dat dit mijn beoordeling is"
    signed_name: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    placement: Mapped[Placement] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<PlacementAssessment {self.id} {self.status}>"

    def text_ref(self) -> FieldRef:
        return FieldRef("placement_assessment", "texts", str(self.uuid))

    @property
    def is_submitted(self) -> bool:
        return self.status is AssessmentStatus.submitted

    @property
    def in_inbox(self) -> bool:
        return self.channel == AssessmentChannel.inbox.value
