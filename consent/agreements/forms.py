"""The agreement edit forms in and out: stored values as form values, and the submitted form as
the service wants it (a content section through its marshmallow schema, the parties' rows, the
signers in signing order), with the form's own field names on every error. No request here: the
views in :mod:`consent.agreements.edit_views` use it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from consent.agreements.content import CHECKS, CHOICE, DATE, Field, Rows, Section
from consent.agreements.models import Agreement, SigningOrder
from network.errors import field_messages
from network.schemas import FormSchema

#: the parties form: at most this many rows
MAX_PARTY_ROWS = 20
PARTY_FIELDS = ("key", "organisation_id", "role", "contact", "purpose", "commitment")


def posted_values(section: Section, form: Any) -> dict[str, Any]:
    """The submitted form as the template fills it again (checkbox groups as lists)."""
    checks = {item.code for item in section.fields if item.kind == CHECKS}
    checks_columns = {(rows.code, col.code) for rows in section.rows for col in rows.columns if col.kind == CHECKS}
    values: dict[str, Any] = {}
    for key in form.keys():
        parts = key.split("-")
        is_checks = key in checks or (len(parts) == 3 and (parts[0], parts[2]) in checks_columns)
        values[key] = form.getlist(key) if is_checks else form.get(key)
    return values


def fixed_keys(agreement: Agreement) -> set[str]:
    return {"student", f"org-{agreement.school_id}"}


def party_values(agreement: Agreement) -> dict[str, Any]:
    fixed = fixed_keys(agreement)
    values: dict[str, Any] = {"row_version": str(agreement.row_version)}
    for index, party in enumerate(agreement.latest.parties):
        prefix = f"parties-{index}-"
        if party.key in fixed:
            values[prefix + "key"] = party.key
        else:
            values[prefix + "organisation_id"] = str(party.organisation_id)
        for name in ("role", "contact", "purpose", "commitment"):
            values[prefix + name] = getattr(party, name) or ""
    return values


def party_rows(agreement: Agreement, form: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """The submitted rows for :func:`save_parties` and the form index of each: the student and
    the school by their key, other rows by the organisation chosen; empty and removed rows are
    left out."""
    fixed = fixed_keys(agreement)
    rows, indices = [], []
    for index in range(MAX_PARTY_ROWS):
        prefix = f"parties-{index}-"
        raw = {name: (form.get(prefix + name) or "").strip() for name in PARTY_FIELDS}
        key = raw.pop("key")
        if key not in fixed and (form.get(prefix + "remove") or not any(raw.values())):
            continue
        row = {"role": raw["role"], "contact": raw["contact"] or None, "purpose": raw["purpose"] or None,
               "commitment": raw["commitment"]}
        if key in fixed:
            row["key"] = key
        else:
            row["organisation_id"] = int(raw["organisation_id"]) if raw["organisation_id"].isdigit() else None
        rows.append(row)
        indices.append(index)
    return rows, indices


def party_errors(errors: dict[str, list[str]], indices: list[int]) -> dict[str, list[str]]:
    """The service's ``parties-<n>-field`` errors (n: position in the rows it got) keyed by the
    form's own row numbers."""
    keyed = {}
    for key, messages in errors.items():
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] == "parties" and parts[1].isdigit() and int(parts[1]) < len(indices):
            key = f"parties-{indices[int(parts[1])]}-{parts[2]}"
        keyed.setdefault(key, []).extend(m for m in messages if m not in keyed.get(key, []))
    return keyed


def offer_values(agreement: Agreement) -> dict[str, Any]:
    version = agreement.latest
    values: dict[str, Any] = {"order": version.signing_order.value, "signers": [p.key for p in version.parties],
                              "row_version": str(agreement.row_version)}
    for index, party in enumerate(version.parties, start=1):
        values[f"position-{party.key}"] = str(index)
    return values


def offer_input(
    agreement: Agreement, form: Any,
) -> tuple[dict[str, Any], SigningOrder | None, list[str], dict[str, list[str]]]:
    """The order and the signers (in signing order) from the form, or the field errors."""
    values: dict[str, Any] = form.to_dict()
    values["signers"] = form.getlist("signers")
    errors: dict[str, list[str]] = {}
    raw_order = form.get("order") or ""
    order = SigningOrder(raw_order) if raw_order in {o.value for o in SigningOrder} else None
    if order is None:
        errors["order"] = [str(_l("Kies of de partijen tegelijk of op volgorde ondertekenen."))]
    parties = agreement.latest.parties
    chosen = [p.key for p in parties if p.key in values["signers"]]
    if order is SigningOrder.sequential:
        positions = {}
        for index, key in enumerate(chosen):
            raw = (form.get(f"position-{key}") or "").strip()
            if not raw.isdigit() or not 1 <= int(raw) <= 99:
                errors[f"position-{key}"] = [str(_l("Vul een volgnummer in (1, 2, 3 ...)."))]
            else:
                positions[key] = (int(raw), index)
        chosen.sort(key=lambda key: positions.get(key, (99, 0)))
    return values, order, chosen, errors


# -- a content section: form -> schema -> content ------------------------------------------------

def _field_schema(item: Field, choices: dict[str, list[str]]) -> fields.Field:
    if item.kind == DATE:
        return fields.Date(load_default=None, allow_none=True)
    if item.kind == CHECKS:
        allowed = choices.get(item.source or "", [])
        return fields.List(fields.String(validate=validate.OneOf(allowed, error=_l("Kies uit de lijst."))),
                           load_default=list)
    if item.kind == CHOICE:
        allowed = [value for value, _label in item.choices] or choices.get(item.source or "", [])
        return fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(allowed, error=_l("Kies uit de lijst.")))
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(
        max=item.max_length, error=_l("Houd dit korter dan %(max)s tekens.", max=item.max_length)))


def section_schema(section: Section, choices: dict[str, list[str]]) -> type[Schema]:
    """The marshmallow schema of one section's form, with rows as lists of nested rows."""
    attrs: dict[str, Any] = {}
    for item in section.fields:
        attrs[item.code] = _field_schema(item, choices)
    for rows in section.rows:
        row_schema = type(f"{section.code}_{rows.code}_Row", (FormSchema,),
                          {col.code: _field_schema(col, choices) for col in rows.columns})
        attrs[rows.code] = fields.List(fields.Nested(row_schema), load_default=list, validate=validate.Length(
            max=rows.max_rows, error=_l("Hoogstens %(max)s regels.", max=rows.max_rows)))
    return type(f"{section.code}_Form", (FormSchema,), attrs)


def form_to_raw(section: Section, form: Any) -> dict[str, Any]:
    """The submitted form as the section schema loads it: ``people-0-name`` becomes
    ``{"people": [{"name": ...}]}``; multi-value checkboxes become lists."""
    getlist = form.getlist if hasattr(form, "getlist") else (lambda key: [form[key]] if key in form else [])
    raw: dict[str, Any] = {}
    for item in section.fields:
        raw[item.code] = getlist(item.code) if item.kind == CHECKS else form.get(item.code)
    for rows in section.rows:
        found = []
        for index in range(rows.max_rows + rows.blank_rows + 1):
            row = {}
            for col in rows.columns:
                key = f"{rows.code}-{index}-{col.code}"
                row[col.code] = getlist(key) if col.kind == CHECKS else form.get(key)
            if any(value for value in row.values()):
                # the row's number in the form, for its errors (the schema drops the key)
                found.append({**row, "_index": index})
        raw[rows.code] = found
    return raw


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return sorted(v for v in value if v)
    return value


def load_section(section: Section, form: Any,
                 choices: dict[str, list[str]]) -> tuple[dict | None, dict[str, list[str]]]:
    """Validate one section's form. Returns its content (empty values left out, dates as ISO
    strings) or the field errors keyed as the form names its inputs (``people-0-name``)."""
    raw = form_to_raw(section, form)
    try:
        loaded = section_schema(section, choices)().load(raw)
    except ValidationError as exc:
        return None, _form_errors(exc, raw)
    content: dict[str, Any] = {}
    for item in section.fields:
        value = _plain(loaded.get(item.code))
        if value:
            content[item.code] = value
    for rows in section.rows:
        kept = []
        for row in loaded.get(rows.code) or []:
            cleaned = {k: _plain(v) for k, v in row.items() if _plain(v)}
            if cleaned:
                kept.append(cleaned)
        if kept:
            content[rows.code] = kept
    return content, {}


def _form_errors(exc: ValidationError, raw: dict[str, Any]) -> dict[str, list[str]]:
    """The messages named as the section form names its inputs: a row's column as
    ``people-0-name`` (its number in the form: empty rows were skipped before loading), a
    checked box that is not a choice under its field (each message once)."""
    errors: dict[str, list[str]] = {}
    for path, texts in field_messages(exc, dotted=True).items():
        key, *rest = path.split(".")
        if len(rest) >= 2:
            rows = raw.get(key) if isinstance(raw.get(key), list) else []
            index = int(rest[0]) if rest[0].isdigit() else rest[0]
            position = rows[index]["_index"] if isinstance(index, int) and index < len(rows) else index
            errors.setdefault(f"{key}-{position}-{rest[1]}", []).extend(texts)
        elif rest:
            errors[key] = list(dict.fromkeys([*errors.get(key, ()), *texts]))
        else:
            errors[key] = texts
    return errors


def form_values(section: Section, content: dict[str, Any]) -> dict[str, Any]:
    """A section's stored content as form values (``people-0-name`` ...), to fill the form."""
    values: dict[str, Any] = {}
    for item in section.fields:
        if item.code in content:
            values[item.code] = content[item.code]
    for rows in section.rows:
        for index, row in enumerate(content.get(rows.code) or []):
            for column, value in row.items():
                values[f"{rows.code}-{index}-{column}"] = value
    return values


def row_count(rows: Rows, values: dict[str, Any]) -> int:
    """How many rows the form shows: the filled ones (stored or just typed) plus blank ones."""
    used = [int(key.split("-")[1]) for key in values if key.startswith(rows.code + "-") and key.count("-") >= 2
            and key.split("-")[1].isdigit()]
    return min(max(used, default=-1) + 1 + rows.blank_rows, rows.max_rows)
