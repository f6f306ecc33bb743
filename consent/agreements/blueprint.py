"""The school's agreement pages (``/plannen``): the blueprint, declared apart so that its view
modules add routes to it without importing each other, and what every page uses.

- :mod:`consent.agreements.views`: the list, a new plan or privacy agreement, the overview,
  versions and the difference between two;
- :mod:`consent.agreements.edit_views`: the section forms, the parties, offering for signature,
  ending, and the one-step fix of a sharing warning.

The app factory imports both and registers :data:`bp`.

Every page that shows an agreement finds it inside the actor's walls (404 outside), decides
and audits the read (403 when denied, and the denial is committed), and commits after the
GET (:func:`open_agreement`). The overview, the versions and the diff are login-only pages with
the agreement's own walls: a guardian has no role, yet reads the plan of a child under 16. The
editing pages need ``agreement_manage`` (the school). After a failed form the unit of work is
rolled back, so the agreement is found and read again to re-render it with what was typed
(:func:`attempt_change`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from consent.agreements.access import find_agreement, read_agreement, require_editor
from consent.agreements.overview import (
    STATUS_LABELS,
    VERSION_STATUS_LABELS,
    kind_label,
    latest_content,
)
from consent.tags import AgreementTag
from network.audit import AuditAction
from network.db import db
from network.errors import Conflict, ValidationFailed
from network.events import EventTag
from network.web import current_principal, keyring

bp = Blueprint("agreements", __name__, url_prefix="/plannen")



def base_url() -> str:
    return current_app.config.get("BASE_URL", "")


def open_agreement(agreement_id: Any, *, edit: bool = False, event_type: EventTag = AgreementTag.view,
                   action: AuditAction = AuditAction.read):
    """The agreement inside the actor's walls (404), for an editing page one the actor's school
    may still change (403/409), read through ``read_agreement`` (audited; 403 when denied)."""
    principal = current_principal()
    agreement, access = find_agreement(db.session, principal, agreement_id)
    if edit:
        require_editor(access, agreement)
    read_agreement(db.session, principal, agreement, access, event_type=event_type, action=action)
    return principal, agreement, access


class Refusal(NamedTuple):
    """A service refused a change: the agreement loaded again (decided and audited anew), the
    field errors (400) or the conflict message (409)."""

    agreement: Any
    errors: dict[str, list[str]]
    conflict: str | None
    status: int


def attempt_change(agreement_id: Any, event_type: EventTag, values: dict[str, Any],
                   action: Callable[[], Any]) -> tuple[Any, Refusal | None]:
    """Run one service call. On :class:`ValidationFailed` or :class:`Conflict` roll the unit of
    work back and reopen the agreement, so the form re-renders with what was typed (after a
    conflict with the current ``row_version``, so a second save goes through)."""
    try:
        return action(), None
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        _principal, agreement, _access = open_agreement(agreement_id, edit=True, event_type=event_type)
        if isinstance(exc, Conflict):
            values["row_version"] = str(agreement.row_version)
            return None, Refusal(agreement, {}, str(exc.detail), 409)
        return None, Refusal(agreement, exc.errors, None, 400)


def render_page(template: str, status: int = 200, **context: Any):
    """Render an agreement page with the labels every such page uses (the reads it audited are
    committed with the request, by network.transaction)."""
    html = render_template(template, kind_label=kind_label, status_labels=STATUS_LABELS,
                           version_status_labels=VERSION_STATUS_LABELS, **context)
    return html, status


def content_or_conflict(version) -> dict[str, Any]:
    content = latest_content(keyring(), version)
    if content is None:
        raise Conflict(_("De inhoud van versie %(n)s is beschadigd of buiten Schakel gewijzigd; wijzigen kan niet. "
                         "Neem contact op met de beheerder.", n=version.number))
    return content
