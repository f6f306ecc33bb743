"""The region's dashboard for the uitstroomcoördinator (issue 5 item 9): referrals by status
and receiving organisation, time to accept, overdue count, and how routes ended 12 months
after the exit. Only aggregate numbers, never a student: every figure is a COUNT or a median
over a GROUP BY, and no query selects a student column.

A fixed number of statements whatever the region's size: one per table. The median time to
accept is the one figure computed in Python (working days need the Dutch holiday calendar), from
one SELECT of (organisation, sent, answered) over the last 12 months.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from network.clock import AMSTERDAM
from network.models import Organisation
from network.permissions import Permission, Principal
from referrals.dashboard_table import Table
from referrals.deadlines import region_in_reach
from referrals.exit_handover import missing_handover_counts
from referrals.instruments_dashboard import instrument_table
from referrals.models import CheckIn, Referral, Route, Situation
from referrals.states import Outcome, ReferralStatus
from referrals.workdays import working_days_between
from socialmap.spreadsheet import safe_cell

S = ReferralStatus
#: the columns of the status table, in the order of the state machine (drafts are not sent)
STATUS_COLUMNS = [S.requested, S.accepted, S.in_progress, S.on_hold, S.completed, S.failed, S.rejected, S.cancelled,
                  S.entered_in_error]
STATUS_LABELS = {
    S.requested: _l("Aangevraagd"), S.accepted: _l("Geaccepteerd"), S.in_progress: _l("Loopt"),
    S.on_hold: _l("Gepauzeerd"), S.completed: _l("Afgerond"), S.failed: _l("Mislukt"), S.rejected: _l("Afgewezen"),
    S.cancelled: _l("Ingetrokken"), S.entered_in_error: _l("Ten onrechte ingevoerd"),
}
OUTCOME_LABELS = {
    Outcome.werk: _l("Werk"), Outcome.stage: _l("Stage"), Outcome.opleiding: _l("Opleiding"),
    Outcome.andere_hulp: _l("Andere hulp"), Outcome.dagbesteding: _l("Dagbesteding"),
    Outcome.geen_contact: _l("Geen contact"), Outcome.overig: _l("Overig"),
}
#: answered by accepting: every state an accepted referral can be in afterwards
ACCEPTED = [S.accepted, S.in_progress, S.on_hold, S.completed, S.failed]
#: a completed referral with these outcomes counts as "in work or education"
WORK_OR_EDUCATION = [Outcome.werk, Outcome.opleiding]
#: the time to accept looks back this far (by the day the referral was sent)
ACCEPT_WINDOW_DAYS = 365
FOLLOWUP_MONTHS = 12


@dataclass
class Dashboard:
    region: Any
    overdue: int
    median_days: float | None
    median_hours: float | None
    accepted: int
    tables: dict[str, Table]


def _receiver_in(region_id: int):
    return Referral.to_organisation_id.in_(select(Organisation.id).where(Organisation.region_id == region_id))


def status_table(session: Session, region_id: int) -> Table:
    """Referrals received by the region's organisations: count per organisation × status."""
    rows = session.execute(
        select(Organisation.id, Organisation.name, Referral.status, func.count(Referral.id))
        .join(Referral, Referral.to_organisation_id == Organisation.id)
        .where(Organisation.region_id == region_id, Referral.status != S.draft)
        .group_by(Organisation.id, Organisation.name, Referral.status)
    ).all()
    by_org: dict[tuple[str, int], dict[S, int]] = defaultdict(dict)
    for org_id, name, status, count in rows:
        by_org[(name, org_id)][S(status)] = int(count)
    body = [[name, *(counts.get(s, 0) for s in STATUS_COLUMNS), sum(counts.values())]
            for (name, _id), counts in sorted(by_org.items())]
    totals = [sum(row[i + 1] for row in body) for i in range(len(STATUS_COLUMNS))]
    if body:
        body.append([_l("Totaal"), *totals, sum(totals)])
    return Table("status", _l("Verwijzingen per status en ontvangende organisatie"),
                 [_l("Organisatie"), *(STATUS_LABELS[s] for s in STATUS_COLUMNS), _l("Totaal")], body,
                 chart=[(str(STATUS_LABELS[s]), t) for s, t in zip(STATUS_COLUMNS, totals, strict=True) if body],
                 chart_unit=_l("verwijzingen"))


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(AMSTERDAM).date()


def acceptance_table(session: Session, region_id: int,
                     now: dt.datetime) -> tuple[Table, float | None, float | None, int]:
    """Median time from sending to accepting, per receiving organisation and for the region,
    in working days (Dutch holidays excluded) and in hours, over the last 12 months."""
    rows = session.execute(
        select(Organisation.name, Referral.sent_at, Referral.answered_at)
        .join(Organisation, Organisation.id == Referral.to_organisation_id)
        .where(Organisation.region_id == region_id, Referral.status.in_(ACCEPTED), Referral.sent_at.is_not(None),
               Referral.answered_at.is_not(None), Referral.sent_at >= now - dt.timedelta(days=ACCEPT_WINDOW_DAYS))
    ).all()
    days_cache: dict[tuple[dt.date, dt.date], int] = {}
    per_org: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for name, sent, answered in rows:
        key = (_local_date(sent), _local_date(answered))
        if key not in days_cache:
            days_cache[key] = working_days_between(*key)
        per_org[name].append((days_cache[key], max(0.0, (answered - sent).total_seconds() / 3600)))
    body, chart = [], []
    for name in sorted(per_org):
        pairs = per_org[name]
        days = statistics.median(d for d, _h in pairs)
        body.append([name, len(pairs), days, round(statistics.median(h for _d, h in pairs), 1)])
        chart.append((name, days))
    everything = [pair for pairs in per_org.values() for pair in pairs]
    median_days = statistics.median(d for d, _h in everything) if everything else None
    median_hours = round(statistics.median(h for _d, h in everything), 1) if everything else None
    if body:
        body.append([_l("Regio"), len(everything), median_days, median_hours])
    table = Table("acceptatie", _l("Tijd tot acceptatie (mediaan, laatste 12 maanden)"),
                  [_l("Organisatie"), _l("Geaccepteerd"), _l("Werkdagen (mediaan)"), _l("Uren (mediaan)")], body,
                  chart=chart, chart_unit=_l("werkdagen"),
                  note=_l("Van verzenden tot accepteren. Werkdagen zonder weekenden en Nederlandse feestdagen."))
    return table, median_days, median_hours, len(everything)


def overdue_count(session: Session, region_id: int, today: dt.date) -> int:
    """Requested referrals in the region past their response date or escalated."""
    return session.scalar(select(func.count(Referral.id)).where(
        _receiver_in(region_id), Referral.status == S.requested,
        or_(Referral.response_due < today, Referral.escalated_at.is_not(None)))) or 0


def months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def route_outcome_table(session: Session, region_id: int, today: dt.date) -> Table:
    """Per exit year: routes of the region's schools whose 12 months after the exit have
    passed, with the situation found at the 12-month check-in; without a recorded check-in, a
    completed referral with outcome work or education counts as such."""
    school = Organisation
    by_referral = and_(CheckIn.situation.is_(None), exists().where(
        Referral.student_id == Route.student_id, Referral.status == S.completed,
        Referral.outcome.in_(WORK_OR_EDUCATION)))
    year = func.extract("year", Route.exit_date)

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(year, func.count(Route.id), count_if(CheckIn.situation == Situation.werkend),
               count_if(CheckIn.situation == Situation.opleiding), count_if(CheckIn.situation.is_not(None)),
               count_if(by_referral))
        .join(school, school.id == Route.school_id)
        .outerjoin(CheckIn, and_(CheckIn.route_id == Route.id, CheckIn.months == FOLLOWUP_MONTHS))
        .where(school.region_id == region_id, Route.exit_date.is_not(None),
               Route.exit_date <= months_before(today, FOLLOWUP_MONTHS))
        .group_by(year).order_by(year)
    ).all()
    body, chart = [], []
    for cohort, routes, working, learning, recorded, via_referral in rows:
        routes, working, learning, recorded, via_referral = (int(v or 0) for v in
                                                             (routes, working, learning, recorded, via_referral))
        share = round(100 * (working + learning + via_referral) / routes, 1) if routes else 0.0
        body.append([str(int(cohort)), routes, working, learning, via_referral, recorded - working - learning,
                     routes - recorded - via_referral, share])
        chart.append((str(int(cohort)), share))
    return Table("uitkomsten", _l("Uitkomsten 12 maanden na uitstroom, per uitstroomjaar"),
                 [_l("Uitstroomjaar"), _l("Trajecten"), _l("Werkend"), _l("Opleiding"),
                  _l("Werk of opleiding volgens verwijzing"), _l("Andere situatie"), _l("Onbekend"),
                  _l("Aandeel werk of opleiding (%)")], body, chart=chart, chart_unit="%",
                 note=_l("Trajecten van scholen in de regio waarvan de uitstroom minstens 12 maanden geleden is. "
                         "Zonder vastgelegd contactmoment na 12 maanden telt een afgeronde verwijzing met uitkomst "
                         "werk of opleiding mee."))


def referral_outcome_table(session: Session, region_id: int) -> Table:
    """Completed referrals received in the region, per outcome."""
    rows = dict(session.execute(
        select(Referral.outcome, func.count(Referral.id))
        .where(_receiver_in(region_id), Referral.status == S.completed, Referral.outcome.is_not(None))
        .group_by(Referral.outcome)).all())
    body = [[OUTCOME_LABELS[o], int(rows.get(o, 0))] for o in Outcome]
    total = sum(row[1] for row in body)
    if not total:
        body = []
    return Table("verwijzingsuitkomsten", _l("Afgeronde verwijzingen per uitkomst"),
                 [_l("Uitkomst"), _l("Aantal")], body, chart=[(str(label), n) for label, n in body],
                 chart_unit=_l("verwijzingen"))


def missing_handover_table(session: Session, region_id: int) -> Table:
    """Per school: routes in follow-up that need a warm hand-over at exit and have none."""
    body = [[name, count] for name, count in missing_handover_counts(session, region_id)]
    return Table("overdracht_uitstroom", _l("Uitgestroomd zonder warme overdracht, per school"),
                 [_l("School"), _l("Trajecten")], body, chart=[(name, count) for name, count in body],
                 chart_unit=_l("trajecten"),
                 note=_l("Trajecten in nazorg waarvan de bestemming geen werk zonder ondersteuning of vervolgopleiding "
                         "is, en zonder warme overdracht bij uitstroom naar de gemeente, het UWV, het RMC of een "
                         "zorgaanbieder. Alleen aantallen."))


def region_dashboard(session: Session, actor: Principal, *, region_id: int | None, today: dt.date,
                     now: dt.datetime) -> Dashboard:
    """Every figure of the dashboard for one region the actor may see (the coordinator's own;
    any for the hub admin)."""
    region = region_in_reach(session, actor, region_id, Permission.region_dashboard)
    accept, median_days, median_hours, accepted = acceptance_table(session, region.id, now)
    tables = [status_table(session, region.id), accept, route_outcome_table(session, region.id, today),
              referral_outcome_table(session, region.id), instrument_table(session, region.id, today),
              missing_handover_table(session, region.id)]
    return Dashboard(region=region, overdue=overdue_count(session, region.id, today), median_days=median_days,
                     median_hours=median_hours, accepted=accepted, tables={t.key: t for t in tables})


def dashboard_table(session: Session, actor: Principal, key: str, *, region_id: int | None, today: dt.date,
                    now: dt.datetime) -> tuple[Any, Table | None]:
    """One table (for its CSV), or None for an unknown key."""
    region = region_in_reach(session, actor, region_id, Permission.region_dashboard)
    build = {"status": lambda: status_table(session, region.id),
             "acceptatie": lambda: acceptance_table(session, region.id, now)[0],
             "uitkomsten": lambda: route_outcome_table(session, region.id, today),
             "verwijzingsuitkomsten": lambda: referral_outcome_table(session, region.id),
             "instrumenten": lambda: instrument_table(session, region.id, today),
             "overdracht_uitstroom": lambda: missing_handover_table(session, region.id)}.get(key)
    return region, build() if build else None


# -- CSV -------------------------------------------------------------------------------------

def _cell(value: Any) -> str:

    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")  # Dutch Excel reads a decimal comma
    return safe_cell(value if value is not None else "")


def table_csv(table: Table) -> str:
    """The table as CSV for Dutch Excel: UTF-8 with BOM, ``;``, formula-safe cells."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(str(h)) for h in table.header])
    for row in table.rows:
        writer.writerow([_cell(str(v)) if not isinstance(v, int | float) else _cell(v) for v in row])
    return buffer.getvalue()
