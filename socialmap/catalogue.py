"""The "waarvoor te benaderen" catalogue: data the hub admin edits. Renaming a category
re-indexes the entries that carry it (their search keywords hold the category names)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.errors import Forbidden, ValidationFailed, field_messages
from network.permissions import Permission, Principal
from socialmap.entries import is_system, refresh_keywords
from socialmap.models import Category, Service, service_category
from socialmap.schemas import CategoryArgs
from socialmap.tags import SocialmapTag
from socialmap.vocab import term_id


def save_category(session: Session, actor: Principal, form: dict[str, Any]) -> Category:
    """Add a category, or change the one with the same code (name, description, order, active)."""
    if not (is_system(actor) or actor.has(Permission.socialmap_category_manage)):
        raise Forbidden(_l("U mag de categorieën niet beheren."))
    try:
        data = CategoryArgs().load(form)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_messages(exc)) from None
    category = session.scalar(select(Category).where(Category.code == data["code"]))
    if category is None:
        category = Category(uuid=term_id("waarvoor-te-benaderen", data["code"]), code=data["code"])
        session.add(category)
        action = AuditAction.create
    else:
        action = AuditAction.update
    renamed = category.name is not None and category.name != data["name"]
    category.name, category.description = data["name"], data.get("description")
    category.position, category.is_active = data.get("position") or 0, data["is_active"]
    session.flush()
    if renamed:
        for service in session.scalars(select(Service).join(service_category).where(
                service_category.c.category_id == category.id)):
            refresh_keywords(service)
    record(session, actor, action=action, event_type=SocialmapTag.category_save, object_type="socialmap_category",
           object_id=category.code, detail={"active": category.is_active})
    return category
