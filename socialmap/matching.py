"""Find employers for a student's support need (seed 002: "a database of companies suitable
for students with particular support needs").

Staff tick what the student needs (an adapted workplace, coaching on the job, build-up in time
and content, prospect of a job, experience with the target group), optionally a level or target
group, a sector and a gemeente; employers' active entries are ranked by how many of those
needs they meet. No student data is involved: the needs are typed in, not read from a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Integer, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from network.db import Page
from network.models import Organisation, OrganisationType
from socialmap.models import Service, ServiceStatus, ServiceTag, TagVocabulary


@dataclass
class SupportNeeds:
    #: codes of :data:`socialmap.vocab.OFFERS`
    offers: tuple[str, ...] = ()
    #: codes of :data:`socialmap.vocab.TARGET_GROUPS` (level or group of the student)
    target_groups: tuple[str, ...] = ()
    sector: str | None = None
    gemeente: str | None = None
    #: only SBB-recognised companies (leerbedrijven)
    sbb_only: bool = False

    @property
    def wanted(self) -> int:
        """How many needs can be met at most."""
        return len(self.offers) + (1 if self.target_groups else 0) + (1 if self.sector else 0)

    @property
    def empty(self) -> bool:
        return not (self.offers or self.target_groups or self.sector or self.gemeente or self.sbb_only)


@dataclass
class EmployerMatch:
    service: Service
    score: int
    offers: list[str] = field(default_factory=list)


def _tag(vocabulary: TagVocabulary, codes):
    return exists().where(ServiceTag.service_id == Service.id, ServiceTag.vocabulary == vocabulary,
                          ServiceTag.code.in_(codes))


def match_employers(session: Session, needs: SupportNeeds, *, page: int = 1, per_page: int = 20
                    ) -> tuple[Page, list[EmployerMatch]]:
    """Active entries of employers (organisation type werkgever, or any entry with an employer
    offer), best match first: one point per offer met, one for a fitting level or target
    group, one for the sector. Entries that meet none of the chosen needs are left out.
    Two statements: the ranked page (with the total as a window count) and the tags."""
    page, per_page = max(1, page), max(1, min(per_page, 100))
    offer_points = select(func.count()).where(
        ServiceTag.service_id == Service.id, ServiceTag.vocabulary == TagVocabulary.offer,
        ServiceTag.code.in_(needs.offers or ("",))).scalar_subquery()
    score = offer_points
    if needs.target_groups:
        score = score + case((_tag(TagVocabulary.target_group, needs.target_groups), 1), else_=0)
    if needs.sector:
        score = score + case((func.lower(Service.sector).contains(needs.sector.lower(), autoescape=True), 1),
                             else_=0)
    score = func.coalesce(score, 0).cast(Integer)
    conditions = [Service.status == ServiceStatus.active,
                  or_(Organisation.type == OrganisationType.werkgever,
                      exists().where(ServiceTag.service_id == Service.id,
                                     ServiceTag.vocabulary == TagVocabulary.offer))]
    if needs.gemeente:
        conditions.append(or_(_tag(TagVocabulary.gemeente, [needs.gemeente]), Organisation.gemeente == needs.gemeente))
    if needs.sbb_only:
        conditions.append(Service.sbb_recognised.is_(True))
    if needs.wanted:
        conditions.append(score > 0)
    statement = (select(Service, score.label("score"), func.count().over().label("total"))
                 .join(Service.organisation).where(and_(*conditions))
                 .options(contains_eager(Service.organisation), selectinload(Service.tags))
                 .order_by(score.desc(), Service.name, Service.id).limit(per_page).offset((page - 1) * per_page))
    rows = session.execute(statement).all()
    total = rows[0].total if rows else 0
    matches = [EmployerMatch(service=row[0], score=int(row.score or 0),
                             offers=[c for c in row[0].tag_codes(TagVocabulary.offer) if c in needs.offers])
               for row in rows]
    return Page(items=[m.service for m in matches], total=total, page=page, per_page=per_page), matches
