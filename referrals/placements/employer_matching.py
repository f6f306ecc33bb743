"""Which stagebedrijven of the region suit a student (issue 19, item 5): a proposal per employer
entry, with every reason shown and a score that is the plain sum of the reasons' points.

For school staff of the student's route only (the route's walls and decision,
``placement:employer-match``); the student's school-naar-werk-plan is read through its own
decision (``placement:employer-match-plan``: ``consent.decide`` for the plan category); without a
plan (or a basis to read it) the proposals rest on the company side alone, and the page says so.
Nothing of the student goes to the employer: this is a list for the school.

What counts (points in brackets; a reason is one short Dutch sentence):

- the plan names the company (jobs, eindstage) [+3];
- a function of the company (its name or werkprocessen) or its sector fits a wish of the plan
  (toekomstig beroep, mogelijke banen, the eindstage's function) [+3, sector +2];
- a skill the plan scores V or G returns in a werkproces [+1 each, at most 2];
- an adaptation the workplace offers answers a word of the support need [+2 each];
- free places of the wanted kind (places minus live placements there) [+2], none free [−3],
  places offered but not of this kind [−1];
- a trained praktijkopleider [+1]; leerbaan/BBL possible for a leerbaan [+1]; SBB recognition
  for a BPV, eindstage or leerbaan [+1]; experience with the banenafspraak or
  loonkostensubsidie when the plan mentions it [+1];
- the history: most placements completed [+1], students hired afterwards [+1], more ended early
  than completed [−1].

Entries without any positive reason are left out; ties go by company name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from consent.agreements.access import find_agreement, read_agreement
from consent.agreements.models import AgreementKind
from consent.agreements.overview import latest_content, open_agreement_id
from network.crypto import Keyring
from network.errors import Forbidden, NotFound
from network.models import Organisation, OrganisationType
from network.permissions import Principal
from referrals.models import Route
from referrals.placements.access import decide_route_placements
from referrals.placements.employer_profile import History, histories
from referrals.placements.states import KIND_LABELS, PlacementKind
from referrals.tags import PlacementTag
from socialmap.models import EmployerOffer, Service, ServiceStatus
from socialmap.vocab import ADAPTATION_WORDS, ADAPTATIONS

MAX_PROPOSALS = 20
#: words too common to say anything about a fit
_STOP = frozenset({"medewerker", "werken", "bedrijf", "student", "stage", "eindstage", "functie", "helpen",
                   "zelfstandig", "onder", "begeleiding", "samen", "andere", "worden", "hebben"})
_WORD = re.compile(r"[a-zà-ÿ]{5,}")


@dataclass(frozen=True)
class Reason:
    points: int
    text: Any


@dataclass
class Proposal:
    service: Service
    history: History
    reasons: list[Reason] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(r.points for r in self.reasons)

    @property
    def organisation(self) -> Organisation:
        return self.service.organisation


@dataclass
class PlanFacts:
    """What the matching uses of the plan: wishes, companies named, skills, the support need."""

    wishes: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    support: str = ""


@dataclass
class Matches:
    route: Route
    kind: PlacementKind | None
    plan: PlanFacts | None
    proposals: list[Proposal]


def words(text: str | None) -> set[str]:
    return {w for w in _WORD.findall((text or "").lower()) if w not in _STOP}


def fits(wish: str | None, target: str | None) -> bool:
    """Do ``wish`` and ``target`` share a word (or one word holds the other: "magazijn" and
    "magazijnmedewerker")?"""
    for a in words(wish):
        for b in words(target):
            if a == b or (len(b) >= 6 and b in a) or (len(a) >= 6 and a in b):
                return True
    return False


def plan_facts(session: Session, actor: Principal, keyring: Keyring, route: Route) -> PlanFacts | None:
    """The plan's wishes, companies, skills (V or G) and support need, read through the plan's own
    decision (audited); no plan or no basis: None."""
    agreement_id = open_agreement_id(session, route.student, AgreementKind.plan)
    if agreement_id is None:
        return None
    try:
        agreement, access = find_agreement(session, actor, agreement_id)
        read_agreement(session, actor, agreement, access, event_type=PlacementTag.employer_match_plan)
    except (NotFound, Forbidden):
        return None
    content = latest_content(keyring, agreement.active_version or agreement.latest) or {}

    def part(section: str) -> dict:
        value = content.get(section)
        return value if isinstance(value, dict) else {}

    def rows(section: str, name: str) -> list[dict]:
        return [row for row in part(section).get(name) or [] if isinstance(row, dict)]

    def text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""

    facts = PlanFacts()
    facts.wishes = [w for w in (text(part("future").get("occupation")), text(part("internship").get("role")),
                                *(text(row.get("job")) for row in rows("jobs", "jobs"))) if w]
    facts.companies = [c for c in (text(part("internship").get("company")),
                                   *(text(row.get("company")) for row in rows("jobs", "jobs"))) if c]
    facts.skills = [text(row.get("skill")) for row in rows("skills", "skills")
                    if row.get("score") in ("V", "G") and text(row.get("skill"))]
    facts.support = " ".join(text(part("support").get(key)) for key in ("support_need", "entitlements"))
    return facts


def _plan_reasons(service: Service, offer: EmployerOffer | None, plan: PlanFacts) -> list[Reason]:
    reasons = []
    name = service.organisation.name.lower()
    if any(c.lower() in name or name in c.lower() for c in plan.companies):
        reasons.append(Reason(3, _l("Het plan van de student noemt dit bedrijf.")))
    functions = (offer.functions if offer else None) or []
    # a wish that names the function first, else one that returns in its werkprocessen
    fit = next(((f["name"], wish) for f in functions for wish in plan.wishes if fits(wish, f["name"])), None) or next(
        ((f["name"], wish) for f in functions for wish in plan.wishes
         if any(fits(wish, w) for w in f.get("werkprocessen") or [])), None)
    if fit:
        reasons.append(Reason(3, _l("De functie '%(function)s' past bij de wens '%(wish)s'.", function=fit[0],
                                    wish=fit[1])))
    elif service.sector and (wish := next((w for w in plan.wishes if fits(w, service.sector)), None)):
        reasons.append(Reason(2, _l("De sector '%(sector)s' past bij de wens '%(wish)s'.", sector=service.sector,
                                    wish=wish)))
    werkprocessen = [w for f in functions for w in f.get("werkprocessen") or []]
    matched: dict[str, str] = {}
    for skill in plan.skills:
        werkproces = next((w for w in werkprocessen if fits(skill, w)), None)
        if werkproces and skill not in matched:
            matched[skill] = werkproces  # the first werkproces it returns in
    for skill, werkproces in list(matched.items())[:2]:
        reasons.append(Reason(1, _l("Vaardigheid '%(skill)s' komt terug in het werkproces '%(werkproces)s'.",
                                    skill=skill, werkproces=werkproces)))
    support = plan.support.lower()
    for code in (offer.adaptations if offer else None) or []:
        word = next((w for w in ADAPTATION_WORDS.get(code, ()) if w in support), None)
        if word:
            reasons.append(Reason(2, _l("Biedt '%(adaptation)s'; de ondersteuningsbehoefte noemt '%(word)s'.",
                                        adaptation=_l(ADAPTATIONS[code]), word=word)))
    if offer and offer.banenafspraak and ("banenafspraak" in support or "doelgroepregister" in support):
        reasons.append(Reason(1, _l("Heeft ervaring met de banenafspraak.")))
    if offer and offer.loonkostensubsidie and "loonkostensubsidie" in support:
        reasons.append(Reason(1, _l("Heeft ervaring met loonkostensubsidie.")))
    return reasons


def _company_reasons(service: Service, offer: EmployerOffer | None, history: History,
                     kind: PlacementKind | None) -> list[Reason]:
    reasons = []
    places = (offer.places if offer else None) or {}
    if kind is not None and places:
        offered = int(places.get(kind.value, 0))
        taken = history.live_by_kind.get(kind.value, 0)
        if not offered:
            reasons.append(Reason(-1, _l("Biedt geen plaatsen voor %(kind)s.", kind=KIND_LABELS[kind])))
        elif offered > taken:
            reasons.append(Reason(2, _l("Nog %(free)d van de %(places)d plaatsen vrij voor %(kind)s.",
                                        free=offered - taken, places=offered, kind=KIND_LABELS[kind])))
        else:
            reasons.append(Reason(-3, _l("Geen vrije plaats voor %(kind)s: alle %(places)d zijn bezet.",
                                         places=offered, kind=KIND_LABELS[kind])))
    if offer and offer.trained_trainer:
        reasons.append(Reason(1, _l("Heeft een opgeleide praktijkopleider.")))
    if offer and offer.bbl_possible and kind is PlacementKind.leerbaan:
        reasons.append(Reason(1, _l("Een leerbaan (BBL) is hier mogelijk.")))
    if service.sbb_recognised and kind in (PlacementKind.bpv, PlacementKind.eindstage, PlacementKind.leerbaan):
        reasons.append(Reason(1, _l("Erkend leerbedrijf (SBB).")))
    if history.finished and history.completed * 2 >= history.finished:
        reasons.append(Reason(1, _l("%(completed)d van de %(finished)d stages hier zijn afgerond.",
                                    completed=history.completed, finished=history.finished)))
    if history.hired:
        reasons.append(Reason(1, _l("%(hired)d keer kreeg een student hier daarna werk.", hired=history.hired)))
    if history.ended_early > history.completed:
        reasons.append(Reason(-1, _l("Meer stages voortijdig beëindigd (%(early)d) dan afgerond (%(completed)d).",
                                     early=history.ended_early, completed=history.completed)))
    return reasons


def region_employers(session: Session, region_id: int) -> list[Service]:
    """The region's active employer entries, with their organisation and offer (two statements)."""
    return list(session.scalars(
        select(Service).join(Service.organisation)
        .where(Organisation.region_id == region_id, Organisation.type == OrganisationType.werkgever,
               Organisation.is_active.is_(True), Service.status == ServiceStatus.active)
        .options(contains_eager(Service.organisation), selectinload(Service.employer_offer))
        .order_by(Organisation.name, Service.name, Service.id)))


def rank(services: list[Service], found: dict[int, History], plan: PlanFacts | None,
         kind: PlacementKind | None, *, limit: int = MAX_PROPOSALS) -> list[Proposal]:
    """The proposals with at least one positive reason, best score first (ties: company, entry)."""
    proposals = []
    for service in services:
        offer, history = service.employer_offer, found.get(service.organisation_id, History())
        reasons = (_plan_reasons(service, offer, plan) if plan else []) + _company_reasons(service, offer, history,
                                                                                          kind)
        if any(r.points > 0 for r in reasons):
            reasons.sort(key=lambda r: -r.points)
            proposals.append(Proposal(service, history, reasons))
    proposals.sort(key=lambda p: (-p.score, p.organisation.name.lower(), p.service.name.lower()))
    return proposals[:limit]


def propose_employers(session: Session, actor: Principal, keyring: Keyring, route: Route, *,
                      kind: PlacementKind | None = None) -> Matches:
    """The employers of the route's region that suit its student, best first, each with its
    reasons. The route's decision first (:class:`NotFound` outside its school, :class:`Forbidden`
    without a basis); then the plan, through its own decision."""
    decide_route_placements(session, actor, route, event_type=PlacementTag.employer_match)
    plan = plan_facts(session, actor, keyring, route)
    services = region_employers(session, route.school.region_id)
    found = histories(session, {s.organisation_id for s in services})
    return Matches(route, kind, plan, rank(services, found, plan, kind))
