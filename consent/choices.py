"""The "to whom and for what" choice of the consent forms (the student portal and the school's
staff page): one list of the region's organisations, each with only the purposes its type may
receive (:class:`~consent.models.PurposeRecipientType`), so a form never offers an employer for
"Uitkering en regelzaken". Works without JavaScript: one ``<select>`` with an ``<optgroup>``
per organisation, whose value carries both (``<organisation id>:<purpose code>``).

The services still check the pair (:func:`consent.service.check_scope`): a form posted with the
separate ``recipient_id`` and ``purpose_code`` fields (the API, an old page) is judged the same.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.catalogue import NOT_RECIPIENTS
from consent.models import Purpose
from network.models import Organisation

#: the form field that carries recipient and purpose together
CHOICE = "recipient_purpose"


def region_recipients(session: Session, region_id: int) -> list[Organisation]:
    """The active organisations of the region that can receive data (no school, no hub)."""
    return list(session.scalars(select(Organisation).where(
        Organisation.region_id == region_id, Organisation.is_active.is_(True),
        Organisation.type.not_in(list(NOT_RECIPIENTS))).order_by(Organisation.name)))


def recipient_choices(session: Session, organisations: list[Organisation]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(organisation name, [(value, purpose label), ...])`` for each organisation that may
    receive at least one active purpose, with only those purposes, in catalogue order."""
    purposes = session.scalars(select(Purpose).where(Purpose.is_active.is_(True)).order_by(Purpose.sort_order)
                               .options(selectinload(Purpose.recipients))).all()
    groups = []
    for organisation in organisations:
        options = [(f"{organisation.id}:{p.code}", p.label) for p in purposes
                   if organisation.type in p.recipient_types]
        if options:
            groups.append((organisation.name, options))
    return groups


def split_choice(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with ``recipient_id`` and ``purpose_code`` taken from the combined choice (and the
    choice made from them when a form sent them apart, so the page shows it selected again)."""
    choice = (raw.get(CHOICE) or "").strip()
    if choice:
        recipient_id, _sep, purpose_code = choice.partition(":")
        raw["recipient_id"], raw["purpose_code"] = recipient_id, purpose_code
    elif raw.get("recipient_id") and raw.get("purpose_code"):
        raw[CHOICE] = f"{raw['recipient_id']}:{raw['purpose_code']}"
    return raw


def choice_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The recipient's and the purpose's field errors shown at the one field that chooses both."""
    moved = [*errors.get("recipient_id", []), *errors.get("purpose_code", [])]
    if not moved:
        return errors
    rest = {key: value for key, value in errors.items() if key not in ("recipient_id", "purpose_code")}
    return {CHOICE: moved, **rest}
