"""The agreement edit forms in and out: stored values as form values, and the submitted form as
the service wants it (the parties' rows, the signers in signing order), with the form's own
field names on every error. No request here: the views in :mod:`consent.agreements.views` use it."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from consent.agreements.content import CHECKS, Section
from consent.agreements.models import Agreement, SigningOrder

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
