"""The end of a route at school: the eindgesprek (seed 004, "Eindgesprek op school") and the
structured exit (the way out, the destination, the certificates gained and the retourticket).

Both speak of the student's plans, support and sometimes health or home, so their free text is
stored AES-GCM encrypted with row-bound associated data, like the intake. The exit's date and
startkwalificatie stay on :class:`referrals.models.Route` (the follow-up clock and the RMC's
legal task read them there); :class:`RouteExit` holds what the exit adds to them.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db
from network.models import str_enum


class WayOut(enum.StrEnum):
    """How the student left school (seed 004: diploma, certificaat, praktijkverklaring, uitval)."""

    diploma = "diploma"
    mbo_certificaat = "mbo_certificaat"
    praktijkverklaring = "praktijkverklaring"
    entree_diploma = "entree_diploma"
    #: left before the end of the programme: a reason is required
    tussentijds = "tussentijds"


class Destination(enum.StrEnum):
    """Where the student went at the exit."""

    werk_zonder_ondersteuning = "werk_zonder_ondersteuning"
    werk_met_ondersteuning = "werk_met_ondersteuning"
    bbl_leerbaan = "bbl_leerbaan"
    vervolgopleiding = "vervolgopleiding"
    beschut_werk = "beschut_werk"
    dagbesteding = "dagbesteding"
    uitkering = "uitkering"
    werkzoekend = "werkzoekend"
    onbekend = "onbekend"


class IntermediateStep(enum.StrEnum):
    """A step between school and regular work (seed 004: sociale onderneming, beschutte werkplek)."""

    geen = "geen"
    sociale_onderneming = "sociale_onderneming"
    beschut_werk = "beschut_werk"
    dagbesteding = "dagbesteding"


class Eindgesprek(db.Model):
    """The final conversation at school (seed 004) recorded on a route; its answers (what the
    student still wants to learn, the alternative, the partners of the warm hand-over, the
    student's own words) are one JSON document, encrypted."""

    __tablename__ = "referral_eindgesprek"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    content_encrypted: Mapped[str] = mapped_column(Text)
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Eindgesprek {self.id} route={self.route_id}>"

    def content_ref(self) -> FieldRef:
        return FieldRef("referral_eindgesprek", "content", str(self.route_id))


class RouteExit(db.Model):
    """What the exit of a route adds to its date: the way out, the destination, certificates,
    and (encrypted) the reason of an early leave, the school of a vervolgopleiding and the
    retourticket (what the student can come back for)."""

    __tablename__ = "referral_route_exit"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("referral_route.id", ondelete="CASCADE"), unique=True)
    way_out: Mapped[WayOut] = mapped_column(str_enum(WayOut, "route_exit_way_out"))
    destination: Mapped[Destination] = mapped_column(str_enum(Destination, "route_exit_destination"))
    #: certificates gained (VCA, heftruck, ...), as a list of names
    certificates: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: {"reason", "next_school", "retourticket"}: JSON, encrypted
    details_encrypted: Mapped[str | None] = mapped_column(Text)
    #: the recorder confirmed a destination that does not follow from the way out
    contradiction_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: how often it was recorded (a correction raises it)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    def __repr__(self) -> str:
        return f"<RouteExit route={self.route_id} {self.way_out} {self.destination}>"

    def details_ref(self) -> FieldRef:
        return FieldRef("referral_route_exit", "details", str(self.route_id))
