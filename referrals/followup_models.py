"""Follow-up (nazorg) as data: the region's follow-up term per school level, and the attempts
to reach a young person for a check-in.

The term is the region's agreement (seed 004: two years of follow-up for entree and VSO; PrO and
mbo as the region agrees), not code: :mod:`referrals.followup_terms` reads it when a route opens
and at the exit, so changing a term never rewrites a route already in follow-up.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from network.clock import utcnow
from network.db import UTCDateTime, db
from network.models import SchoolLevel, str_enum

#: the follow-up term a region may set, in whole months
TERM_MIN, TERM_MAX = 6, 36


class ContactMethod(enum.StrEnum):
    """How a check-in's contact was attempted."""

    telefoon = "telefoon"
    email = "email"
    brief = "brief"
    huisbezoek = "huisbezoek"


class FollowupTerm(db.Model):
    """How many months after the exit a region follows the leavers of one school level."""

    __tablename__ = "referral_followup_term"
    __table_args__ = (
        UniqueConstraint("region_id", "level"),
        CheckConstraint(f"months BETWEEN {TERM_MIN} AND {TERM_MAX}", name="months_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    level: Mapped[SchoolLevel] = mapped_column(str_enum(SchoolLevel, "followup_term_level"))
    months: Mapped[int] = mapped_column(Integer)
    updated_by_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContactAttempt(db.Model):
    """An attempt to reach the young person for a check-in that did not reach them ("niet
    bereikt"): the day and how. The third one alerts the RMC (referrals.contact_attempts)."""

    __tablename__ = "referral_contact_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("referral_check_in.id", ondelete="CASCADE"), index=True)
    attempted_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[ContactMethod] = mapped_column(str_enum(ContactMethod, "contact_attempt_method"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
