"""The student's begeleidingsformulier (issue 19, item 3; seed 001, Bijlage 5.3.2).

One form per student, written by the student (or, under 16, the parent or guardian) in the
"ik" form: kenmerken, compenserende and belemmerende factoren, "ik presteer goed als", tips
for the stagebegeleider and colleagues, and "met wie wil ik deze informatie delen".

Everything the student writes is about their support need: special-category data (AVG art. 9),
stored AES-GCM encrypted as one JSON document (:meth:`GuidanceForm.texts_ref`). The sharing
choice is plain (a list of :class:`~referrals.placements.guidance.ShareWith` codes): it is what
:func:`network.access.decide` asks on every read, so a change counts from the next request.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from network.clock import utcnow
from network.crypto import FieldRef
from network.db import UTCDateTime, db


class GuidanceForm(db.Model):
    __tablename__ = "guidance_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), unique=True)
    #: ``{"klas": …, "kenmerken": …, "compenserend": …, "belemmerend": …, "presteer": …, "tips": …}``
    texts_encrypted: Mapped[str] = mapped_column(Text)
    #: who the student shares it with: :class:`~referrals.placements.guidance.ShareWith` codes
    shared_with: Mapped[list] = mapped_column(JSON, default=list)
    shared_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    written_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<GuidanceForm {self.id}>"

    def texts_ref(self) -> FieldRef:
        return FieldRef("guidance_form", "texts", str(self.uuid))
