"""Does what an agreement promises have a basis? The consistency check of the privacy
agreement (and of a plan's partner parties) against the consents and legal tasks in consent/.

A privacy agreement's data flows say "organisation X gets categories C for purpose P, on basis
B"; a plan's partner parties read the plan for their purpose. For each, :func:`sharing_warnings`
asks :func:`network.access.bases_for_organisations` (no student data is read, so nothing is
audited) which of the categories X would be allowed today. What no basis covers becomes a
:class:`SharingWarning` with a one-step fix: ask the student (or parent) for exactly that
consent (:func:`request_missing_consent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.agreements.access import DEFAULT_PARTNER_PURPOSE, Access, require_editor
from consent.agreements.models import Agreement, AgreementKind, AgreementVersion, PartyKind
from consent.lifecycle import request_consent
from consent.models import ConsentRequest, Purpose, RequestStatus
from network.access import Category, bases_for_organisations
from network.crypto import Keyring
from network.errors import ValidationFailed
from network.permissions import Principal


@dataclass(frozen=True)
class SharingWarning:
    #: where it comes from: ``flow-<n>`` (privacy agreement row n) or ``party-<key>`` (plan party)
    where: str
    organisation_id: int
    organisation_name: str
    purpose: str
    purpose_label: str
    missing: tuple[str, ...]
    #: the basis the agreement names (``toestemming``, ``wettelijke-taak``, ...), if any
    claimed: str | None
    #: a consent request for exactly this is already open
    requested: bool

    @property
    def fix_categories(self) -> str:
        return " ".join(self.missing)


#: a promised sharing: (where, party, purpose, categories, claimed basis)
Wanted = tuple[str, Any, str, set[str], str | None]


def _is_partner(agreement: Agreement, party: Any) -> bool:
    """An organisation that is a party and not the school itself (the school needs no basis here)."""
    return party is not None and party.kind is PartyKind.organisation and party.organisation_id != agreement.school_id


def _flows(agreement: Agreement, parties: dict[str, Any], content: dict[str, Any]) -> list[Wanted]:
    """The privacy agreement's data flows to partners, each for its purpose and categories."""
    wanted = []
    for index, flow in enumerate((content.get("flows") or {}).get("flows") or []):
        party = parties.get(flow.get("recipient"))
        if not _is_partner(agreement, party):
            continue
        wanted.append((f"flow-{index}", party, flow.get("purpose") or party.purpose or DEFAULT_PARTNER_PURPOSE,
                       set(flow.get("categories") or []), flow.get("basis")))
    return wanted


def _plan_readers(agreement: Agreement, parties: dict[str, Any], content: dict[str, Any]) -> list[Wanted]:
    """The partners the privacy agreement lets read the plan."""
    wanted = []
    readers = (content.get("plan_access") or {}).get("plan_readers") or []
    for key in readers:
        party = parties.get(key)
        if _is_partner(agreement, party):
            wanted.append((f"reader-{key}", party, party.purpose or DEFAULT_PARTNER_PURPOSE,
                           {Category.plan.value}, None))
    return wanted


def _plan_parties(agreement: Agreement, version: AgreementVersion) -> list[Wanted]:
    """A plan's partner parties, who read the plan for their purpose."""
    return [(f"party-{party.key}", party, party.purpose or DEFAULT_PARTNER_PURPOSE, {Category.plan.value}, None)
            for party in version.parties if _is_partner(agreement, party)]


def _wanted(agreement: Agreement, version: AgreementVersion, content: dict[str, Any]) -> list[Wanted]:
    """(where, party, purpose, categories, claimed basis) for every promised sharing."""
    if agreement.kind is AgreementKind.privacy:
        parties = {p.key: p for p in version.parties}
        return _flows(agreement, parties, content) + _plan_readers(agreement, parties, content)
    return _plan_parties(agreement, version)


def sharing_warnings(session: Session, agreement: Agreement, version: AgreementVersion,
                     content: dict[str, Any]) -> list[SharingWarning]:
    """Every promised sharing that no consent or legal task covers today."""
    wanted = _wanted(agreement, version, content)
    if not wanted:
        return []
    checks = []
    for where, party, purpose_code, categories, claimed in wanted:
        valid = {c for c in categories if c in Category._value2member_map_}
        if party.organisation is not None and purpose_code and valid:
            checks.append((where, party.organisation, purpose_code, valid, claimed))
    decisions = bases_for_organisations(session, agreement.student, [(org, p) for _w, org, p, *_r in checks],
                                        Category)
    found = []
    for where, organisation, purpose, valid, claimed in checks:
        allowed = decisions[(organisation.id, purpose)].allowed
        missing = tuple(sorted(set(valid) - {c.value for c in allowed}))
        if missing:
            found.append((where, organisation, purpose, missing, claimed))
    if not found:
        return []  # the usual case: no labels or open requests needed (the plan page's statement count)
    # the purposes' labels and the open consent requests for them, in one statement
    labels: dict[str, str] = {}
    open_requests = set()
    for code, label, recipient_id, requested in session.execute(
            select(Purpose.code, Purpose.label, ConsentRequest.recipient_id, ConsentRequest.categories)
            .outerjoin(ConsentRequest, (ConsentRequest.purpose_id == Purpose.id)
                       & (ConsentRequest.student_id == agreement.student_id)
                       & (ConsentRequest.status == RequestStatus.open))
            .where(Purpose.code.in_({purpose for _w, _o, purpose, *_r in found}))):
        labels[code] = label
        if recipient_id is not None:
            open_requests.add((recipient_id, code, requested))
    return [SharingWarning(where=where, organisation_id=organisation.id, organisation_name=organisation.name,
                           purpose=purpose, purpose_label=labels[purpose], missing=missing, claimed=claimed,
                           requested=(organisation.id, purpose, " ".join(missing)) in open_requests)
            for where, organisation, purpose, missing, claimed in found if purpose in labels]


def request_missing_consent(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement,
                            access: Access, *, organisation_id: int, purpose: str, categories: list[str],
                            portal_url: str = "/mijn-gegevens/toestemmingen") -> Any:
    """The one-step fix: ask the student (under 16: the parent) for the consent a warning
    names. Only categories the purpose needs can be asked for (``check_scope``)."""
    require_editor(access, agreement)
    purpose_row = session.scalar(select(Purpose).where(Purpose.code == purpose))
    if purpose_row is None:
        raise ValidationFailed(errors={"purpose_code": [str(_l("Kies een doel."))]})
    return request_consent(session, actor, keyring, agreement.student,
                           {"recipient_id": organisation_id, "purpose_code": purpose, "categories": categories},
                           portal_url=portal_url)
