"""The scopes of the RMC's and UWV's legal tasks (issue 18, item 4): which students their law
covers now. ``network.access`` keeps a legal-task basis that names a scope only for the students
the check registered under that name finds inside; outside, the decision is "no basis",
audited as a denial. The checks live here because the facts they need do: exits and the
route's steps (:class:`~referrals.models.Route`) and referrals.

- **RMC** (Wet educatie en beroepsonderwijs, Leerplichtwet): young people under 23 who left
  school (an exit recorded on the route, or reported as voortijdig schoolverlater: a referral
  of the sign-up form's kind RMC or School-ex) and are not known to have a startkwalificatie;
  PrO and VSO pupils after their exit; and the route follow-up the region configured (by
  default the routes with two years of RMC follow-up, during that follow-up). A pupil still at
  school with no report, or a leaver with a startkwalificatie, is outside.
- **UWV** (Wet banenafspraak): a student with an open doelgroepregister or banenafspraak matter:
  a referral for the doelgroepregister that is being made or not yet closed, or a route whose
  doelgroepregister step runs.

Each region can switch the parts on and off and set the age (:class:`consent.models.RegionTaskScope`,
the region of the student's school); without a row the defaults above hold. One check is one
SQL statement for any number of students (the decision's statement count stays fixed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from consent.models import TASK_SCOPE_DEFAULTS, RegionTaskScope, RouteFollowup, TaskScope
from network import clock
from network.access import register_task_scope
from network.clock import age_on
from network.models import Organisation, SchoolLevel, Student
from referrals.models import Referral, Route, RouteStatus
from referrals.route_service import add_months
from referrals.states import OPEN, ReferralStatus, ReferralType

#: the referral purposes that make a doelgroepregister or banenafspraak matter
BANENAFSPRAAK_PURPOSES = ("doelgroepregister-aanvraag",)
#: a referral of these kinds reports the student to the RMC (seed 001: "RMC", "School-ex")
VSV_TYPES = (ReferralType.rmc, ReferralType.school_ex)
#: a report that was withdrawn or made in error reports nothing. A draft counts: sending it is
#: the report, and the school may only send what the recipient has a basis for (so the report
#: to the RMC opens the RMC's task for it); the RMC sees no draft in its inbox.
NOT_A_REPORT = (ReferralStatus.cancelled, ReferralStatus.entered_in_error)
#: an open doelgroepregister matter: a referral being made (the same reason) or not yet closed
MATTER_OPEN = (ReferralStatus.draft, *sorted(OPEN))
#: the levels whose pupils the RMC follows after their exit whatever their age (PrO, VSO)
PRO_VSO = (SchoolLevel.pro, SchoolLevel.vso)


@dataclass(frozen=True)
class Settings:
    """A region's settings as the checks read them."""

    rmc_leavers: bool
    rmc_max_age: int
    rmc_pro_vso: bool
    rmc_route_followup: RouteFollowup
    uwv_open_referrals: bool
    uwv_route_steps: bool


#: the law's (consent.models.TASK_SCOPE_DEFAULTS), for a region without a row
DEFAULTS = Settings(**TASK_SCOPE_DEFAULTS)
_SETTINGS = (RegionTaskScope.region_id, RegionTaskScope.rmc_leavers, RegionTaskScope.rmc_max_age,
             RegionTaskScope.rmc_pro_vso, RegionTaskScope.rmc_route_followup, RegionTaskScope.uwv_open_referrals,
             RegionTaskScope.uwv_route_steps)


def _facts(session: Session, students: list[Student], *extra: Any):
    """One row per student: its id, its route's facts, ``extra`` and its region's settings."""
    return session.execute(
        select(Student.id, Route.exit_date, Route.status, Route.followup_months, Route.startkwalificatie,
               Route.doelgroepregister_open, *extra, *_SETTINGS)
        .select_from(Student)
        .join(Organisation, Organisation.id == Student.school_id)
        .outerjoin(Route, Route.student_id == Student.id)
        .outerjoin(RegionTaskScope, RegionTaskScope.region_id == Organisation.region_id)
        .where(Student.id.in_([s.id for s in students]))).all()


def _settings(row) -> Settings:
    """The region's row, or the defaults where the region has none."""
    if row.region_id is None:
        return DEFAULTS
    return Settings(row.rmc_leavers, row.rmc_max_age, row.rmc_pro_vso, RouteFollowup(row.rmc_route_followup),
                    row.uwv_open_referrals, row.uwv_route_steps)


def rmc_in_scope(session: Session, students: list[Student]) -> set[Any]:
    """The ids of ``students`` the RMC's legal task covers today."""
    today = clock.today()
    reported = exists().where(Referral.student_id == Student.id, Referral.type.in_(VSV_TYPES),
                              Referral.status.not_in(NOT_A_REPORT))
    # an RMC or School-ex referral makes a route's follow-up the RMC's (with entree: seed 004); a
    # long term the region set for a school level does not, so it does not widen the RMC's task
    rmc_referral = exists().where(Referral.student_id == Student.id, Referral.type.in_(VSV_TYPES))
    by_id = {s.id: s for s in students}
    return {row.id for row in _facts(session, students, reported.label("reported"), rmc_referral.label("rmc_referral"))
            if _rmc_covers(by_id[row.id], row, _settings(row), today)}


def _rmc_covers(student: Student, row, settings: Settings, today: dt.date) -> bool:
    left = row.exit_date is not None and row.exit_date <= today
    if (settings.rmc_leavers and (left or row.reported) and row.startkwalificatie is not True
            and age_on(student.date_of_birth, today) < settings.rmc_max_age):
        return True
    if settings.rmc_pro_vso and left and student.level in PRO_VSO:
        return True
    return _in_route_followup(student, row, settings.rmc_route_followup, today)


def _in_route_followup(student: Student, row, followup: RouteFollowup, today: dt.date) -> bool:
    """The route is in its follow-up, and of the kind the region put under the RMC's task: RMC
    follow-up is an entree student's or one with an RMC or School-ex referral (not merely a long
    term: the region's term per school level is about how long the school follows up)."""
    if followup is RouteFollowup.none or row.status is not RouteStatus.followup or row.exit_date is None:
        return False
    if followup is RouteFollowup.rmc and not (student.level is SchoolLevel.entree or row.rmc_referral):
        return False
    return row.exit_date <= today <= add_months(row.exit_date, row.followup_months)


def uwv_in_scope(session: Session, students: list[Student]) -> set[Any]:
    """The ids of ``students`` UWV's doelgroepregister task covers today."""
    open_referral = exists().where(and_(Referral.student_id == Student.id,
                                        Referral.purpose.in_(BANENAFSPRAAK_PURPOSES),
                                        Referral.status.in_(MATTER_OPEN)))
    found = set()
    for row in _facts(session, students, open_referral.label("open_referral")):
        settings = _settings(row)
        step = row.doelgroepregister_open and row.status is not None and row.status is not RouteStatus.closed
        if (settings.uwv_open_referrals and row.open_referral) or (settings.uwv_route_steps and step):
            found.add(row.id)
    return found


def register_scopes() -> None:
    register_task_scope(TaskScope.rmc.value, rmc_in_scope)
    register_task_scope(TaskScope.uwv.value, uwv_in_scope)
