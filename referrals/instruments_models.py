"""The instruments of the move into work (issue 20, item 4), as data on the route: the
doelgroepregister status, a banenafspraak job, loonwaardebepaling, loonkostensubsidie,
loonkostenvoordeel, no-riskpolis, a jobcoach, a werkplekaanpassing, a beschut-werk indication
and a BPV place turned into a job (BOL → BBL). Each with its dates, who arranged it, and the
evidence (a decision's number and date) where the law asks for one.

The note can speak of the student's health or support need, so it is stored AES-GCM encrypted
with row-bound associated data, like the check-in's note.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import Organisation, str_enum
from referrals.models import Route


class InstrumentKind(enum.StrEnum):
    doelgroepregister = "doelgroepregister"
    banenafspraakbaan = "banenafspraakbaan"
    loonwaardebepaling = "loonwaardebepaling"
    loonkostensubsidie = "loonkostensubsidie"
    loonkostenvoordeel = "loonkostenvoordeel"
    no_riskpolis = "no_riskpolis"
    jobcoach = "jobcoach"
    werkplekaanpassing = "werkplekaanpassing"
    beschut_werk = "beschut_werk"
    bpv_naar_bbl = "bpv_naar_bbl"


class RegisterStatus(enum.StrEnum):
    """The doelgroepregister: requested at UWV, indicated, or not indicated."""

    aangevraagd = "aangevraagd"
    geindiceerd = "geindiceerd"
    niet_geindiceerd = "niet_geindiceerd"


class Funder(enum.StrEnum):
    """Who pays a jobcoach or a werkplekaanpassing: UWV for its own clients, else the gemeente."""

    uwv = "uwv"
    gemeente = "gemeente"


class Instrument(db.Model):
    """One instrument on a route."""

    __tablename__ = "referral_instrument"
    __table_args__ = (
        Index("ix_referral_instrument_route", "route_id", "start_date"),
        Index("ix_referral_instrument_kind", "kind", "start_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("hours_per_week IS NULL OR hours_per_week BETWEEN 1 AND 40", name="hours_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"))
    kind: Mapped[InstrumentKind] = mapped_column(str_enum(InstrumentKind, "instrument_kind"))
    #: the doelgroepregister only
    register_status: Mapped[RegisterStatus | None] = mapped_column(str_enum(RegisterStatus, "instrument_register"))
    #: a jobcoach or werkplekaanpassing only
    funder: Mapped[Funder | None] = mapped_column(str_enum(Funder, "instrument_funder"))
    #: a jobcoach only: hours of coaching per week (1 to 40)
    hours_per_week: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    #: the organisation of the region that arranged it, and the person who did
    arranged_by_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    arranged_by_name: Mapped[str] = mapped_column(String(200))
    #: the evidence the law asks for: a decision's reference (number and date), no file
    evidence: Mapped[str | None] = mapped_column(String(200))
    note_encrypted: Mapped[str | None] = mapped_column(Text)
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    recorded_by_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    route: Mapped[Route] = relationship()
    arranged_by: Mapped[Organisation] = relationship(foreign_keys=[arranged_by_organisation_id])

    def __repr__(self) -> str:
        return f"<Instrument {self.id} {self.kind}>"

    def note_ref(self) -> FieldRef:
        return FieldRef("referral_instrument", "note", str(self.id))
