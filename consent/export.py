"""Everything the hub holds about a student, for the student (AVG art. 15 and 20): the student
record, consents with their evidence, receipts, requests, guardians, what the features keep
(:func:`register_export_section`) and the access log. The
export is itself a decision with action ``export`` (so it is in the access log too)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.models import Consent, ConsentRequest, Representation
from consent.receipts import receipt_document
from consent.tags import ConsentTag
from network.access import Category, decide
from network.audit import AuditAction, AuditEvent
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Forbidden
from network.models import Student
from network.permissions import Principal

STUDENT_FIELDS = ("first_name", "last_name", "date_of_birth", "email", "phone", "address", "postcode", "city",
                  "parent_name", "parent_email", "parent_phone", "programme", "level", "expected_exit_date",
                  "created_at", "updated_at")
AUDIT_FIELDS = ("id", "occurred_at", "action", "event_type", "outcome", "account_name", "role", "organisation_name",
                "on_behalf_of", "purpose", "basis", "channel", "object_type", "object_id")


#: a feature's part of the export: (session, keyring, student) -> rows (plain values only)
ExportSection = Callable[[Session, Keyring, Student], list[dict[str, Any]]]
_sections: dict[str, ExportSection] = {}


def register_export_section(name: str, collect: ExportSection) -> None:
    """Add a feature's data to the student's download (``referrals`` adds the placements, the
    stageprotocol's contacts, the employer's assessments and the begeleidingsformulier): the
    download promises everything the hub keeps about the student. Idempotent by name."""
    _sections[name] = collect


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def collect_export(session: Session, actor: Principal, keyring: Keyring, student: Student, *,
                   role: str) -> dict[str, Any]:
    """Decide (action export) and gather the export. ``role`` is ``self`` or ``representative``:
    only the student themself gets the BSN unmasked."""
    decision = decide(session, actor, student, "inzage", list(Category), action=AuditAction.export,
                      event_type=ConsentTag.export)
    if not decision.allowed:
        raise Forbidden("U heeft geen grondslag om deze gegevens te downloaden.")
    record = {name: _plain(getattr(student, name)) for name in STUDENT_FIELDS}
    record["id"] = str(student.id)
    record["school"] = student.school.name
    bsn = student.get_bsn(keyring)
    record["bsn"] = (bsn if role == "self" else student.masked_bsn(keyring)) if bsn else None
    consents = session.scalars(select(Consent).where(Consent.student_id == student.id).order_by(Consent.id)
                               .options(selectinload(Consent.items), selectinload(Consent.receipts))).all()
    consent_rows, receipts = [], []
    for c in consents:
        consent_rows.append({
            "id": c.id, "recipient": c.recipient.name, "purpose": c.purpose.code, "purpose_label": c.purpose.label,
            "categories": [i.category for i in c.items],
            "explicit_categories": [i.category for i in c.items if i.explicit],
            "status": c.status.value, "valid_from": _plain(c.valid_from), "valid_until": _plain(c.valid_until),
            "given_by": c.given_by.value, "representative_name": c.representative_name,
            "representative_relation": _plain(c.representative_relation), "channel": c.channel.value,
            "text_version": c.text_version, "text_hash": c.text_hash, "recorded_by": c.recorded_by_name,
            "given_at": _plain(c.given_at), "withdrawn_at": _plain(c.withdrawn_at),
            "expired_at": _plain(c.expired_at)})
        receipts += [receipt_document(r.payload, r.key_id, r.signature) for r in c.receipts]
    requests = [{"id": r.id, "recipient": r.recipient.name, "purpose": r.purpose.code, "categories": r.category_list,
                 "status": r.status.value, "requested_by": r.requested_by_name, "created_at": _plain(r.created_at)}
                for r in session.scalars(select(ConsentRequest).where(ConsentRequest.student_id == student.id)
                                         .order_by(ConsentRequest.id))]
    representatives = [{"name": r.account.name, "relation": r.relation.value, "since": _plain(r.created_at),
                        "ended_at": _plain(r.ended_at), "court": r.court, "decision_date": _plain(r.decision_date),
                        "decision_reference": r.decision_reference, "ends_on": _plain(r.ends_on)}
                       for r in session.scalars(select(Representation).where(Representation.student_id == student.id))]
    events = session.scalars(select(AuditEvent).where(AuditEvent.student_id == str(student.id))
                             .order_by(AuditEvent.id)).all()
    access_log = [{name: _plain(getattr(e, name)) for name in AUDIT_FIELDS} for e in events]
    features = {name: [{key: _plain(value) for key, value in row.items()}
                       for row in collect(session, keyring, student)] for name, collect in _sections.items()}
    return {"exported_at": _plain(utcnow()), "student": record, "consents": consent_rows,
            "receipts": receipts, "consent_requests": requests, "representatives": representatives,
            **features, "access_log": access_log}


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def _cell(value: Any) -> str:
    text = "" if value is None else (json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict))
                                     else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formula injection


def export_csv(data: dict[str, Any]) -> str:
    """One long table (section; number; field; value), UTF-8 with BOM and ``;`` for Dutch Excel."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["onderdeel", "nr", "veld", "waarde"])
    for name, value in data["student"].items():
        writer.writerow(["leerling", 1, name, _cell(value)])
    for section in ("consents", "consent_requests", "representatives", *_sections, "access_log"):
        for number, row in enumerate(data[section], start=1):
            for name, value in row.items():
                writer.writerow([section, number, name, _cell(value)])
    for number, document in enumerate(data["receipts"], start=1):
        writer.writerow(["receipts", number, "receipt", _cell(document["receipt"])])
        writer.writerow(["receipts", number, "jws", _cell(document["jws"])])
    writer.writerow(["export", 1, "exported_at", data["exported_at"]])
    return out.getvalue()


def as_subject(actor: Principal, student: Student, role: str) -> Principal:
    """The principal for a portal action: a guardian acts on behalf of the student."""
    return replace(actor, on_behalf_of=f"leerling:{student.id}") if role == "representative" else actor
