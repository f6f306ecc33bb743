"""The region's dashboard (``/regio``): how many students started work with which instrument.

Aggregates only: one COUNT(DISTINCT route) per instrument kind over the routes of the region's
schools, one statement, no student column selected. A cell of 1 to 4 students is shown as
"minder dan 5" (in the table, the CSV and the chart, which leaves it out), so no student can be
recognised; 0 is shown as 0.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from network.models import Organisation
from referrals.dashboard_table import Table
from referrals.instruments import KIND_LABELS
from referrals.instruments_models import Instrument, InstrumentKind, RegisterStatus
from referrals.models import Route

#: cells below this many students are suppressed
SMALL_CELL = 5
SUPPRESSED = _l("minder dan 5")


def suppress(count: int):
    """The count as shown: 1 to 4 becomes "minder dan 5"."""
    return SUPPRESSED if 0 < count < SMALL_CELL else count


def instrument_table(session: Session, region_id: int, today: dt.date) -> Table:
    """Per instrument kind: the students of the region's schools with that instrument started on
    or before ``today`` (the doelgroepregister: indicated), and of those whose instrument still runs."""
    started = and_(Instrument.start_date <= today,
                   or_(Instrument.kind != InstrumentKind.doelgroepregister,
                       Instrument.register_status == RegisterStatus.geindiceerd))
    running = or_(Instrument.end_date.is_(None), Instrument.end_date >= today)
    rows = session.execute(
        select(Instrument.kind, func.count(func.distinct(Route.student_id)),
               func.count(func.distinct(Route.student_id)).filter(running))
        .join(Route, Route.id == Instrument.route_id)
        .join(Organisation, Organisation.id == Route.school_id)
        .where(Organisation.region_id == region_id, started)
        .group_by(Instrument.kind)).all()
    counts = {InstrumentKind(kind): (int(total), int(now)) for kind, total, now in rows}
    body, chart = [], []
    if counts:
        for kind in InstrumentKind:
            total, now = counts.get(kind, (0, 0))
            body.append([KIND_LABELS[kind], suppress(total), suppress(now)])
            if total >= SMALL_CELL:
                chart.append((str(KIND_LABELS[kind]), total))
    return Table("instrumenten", _l("Aan het werk met een instrument, per instrument"),
                 [_l("Instrument"), _l("Leerlingen"), _l("Van wie het instrument nog loopt")], body,
                 chart=chart, chart_unit=_l("leerlingen"),
                 note=_l("Leerlingen van scholen in de regio met een gestart instrument naar werk (bij het "
                         "doelgroepregister: geïndiceerd). Alleen aantallen; minder dan 5 leerlingen wordt niet "
                         "precies getoond, zodat niemand herkenbaar is."))
