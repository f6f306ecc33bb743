"""The placement's kinds, its lifecycle and the working days, as data (no database), so the
service, the pages, the later API and the property tests all ask the same table.

Lifecycle: ``planned → running → completed``; ``running ↔ paused``; from planned, running or
paused ``→ ended_early`` (with a reason: a placement that is called off before it starts ends
early too); ``completed`` and ``ended_early`` are final. Nothing else is allowed: an illegal
step is a :class:`~network.errors.Conflict` listing the allowed ones (409 on an API).
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class PlacementKind(enum.StrEnum):
    """The kinds of internship and work placement on a route (seed 001, step 5)."""

    snuffelstage = "snuffelstage"
    #: beroepspraktijkvorming: the programme's regular internship
    bpv = "bpv"
    eindstage = "eindstage"
    #: an internship meant to become paid work (seed 001: "plaatsingsstages")
    plaatsingsstage = "plaatsingsstage"
    #: a learning job: the beroepsbegeleidende leerweg (BBL)
    leerbaan = "leerbaan"
    #: a trial placement with an employer (often with a jobcoach or no-riskpolis)
    proefplaatsing = "proefplaatsing"


class PlacementStatus(enum.StrEnum):
    planned = "planned"
    running = "running"
    paused = "paused"
    ended_early = "ended_early"
    completed = "completed"


class Weekday(enum.StrEnum):
    """The days of a placement's week, Monday first (the keys of ``Placement.schedule``)."""

    ma = "ma"
    di = "di"
    wo = "wo"
    do = "do"
    vr = "vr"
    za = "za"
    zo = "zo"


S = PlacementStatus

TRANSITIONS: dict[PlacementStatus, frozenset[PlacementStatus]] = {
    S.planned: frozenset({S.running, S.ended_early}),
    S.running: frozenset({S.paused, S.completed, S.ended_early}),
    S.paused: frozenset({S.running, S.ended_early}),
    S.completed: frozenset(),
    S.ended_early: frozenset(),
}
#: final: nothing follows, and the placement is read-only
FINAL = frozenset({S.completed, S.ended_early})
#: still to come or under way: these count when two placements of a student overlap
LIVE = frozenset({S.planned, S.running, S.paused})
#: a reason is required to enter these, and only these carry one
REASON_REQUIRED = frozenset({S.ended_early})
#: the day a step happened is the actual start (running from planned) or the actual end
ENDS = frozenset({S.completed, S.ended_early})


def allowed_next(status: PlacementStatus) -> list[PlacementStatus]:
    """The statuses ``status`` may move to, in the order of the enum."""
    return [s for s in PlacementStatus if s in TRANSITIONS[status]]


KIND_LABELS = {
    PlacementKind.snuffelstage: _l("Snuffelstage"),
    PlacementKind.bpv: _l("BPV (stage)"),
    PlacementKind.eindstage: _l("Eindstage"),
    PlacementKind.plaatsingsstage: _l("Plaatsingsstage"),
    PlacementKind.leerbaan: _l("Leerbaan (BBL)"),
    PlacementKind.proefplaatsing: _l("Proefplaatsing"),
}
STATUS_LABELS = {
    S.planned: _l("Gepland"),
    S.running: _l("Loopt"),
    S.paused: _l("Gepauzeerd"),
    S.ended_early: _l("Voortijdig beëindigd"),
    S.completed: _l("Afgerond"),
}
WEEKDAY_LABELS = {
    Weekday.ma: _l("Maandag"), Weekday.di: _l("Dinsdag"), Weekday.wo: _l("Woensdag"), Weekday.do: _l("Donderdag"),
    Weekday.vr: _l("Vrijdag"), Weekday.za: _l("Zaterdag"), Weekday.zo: _l("Zondag"),
}


def step_label(current: PlacementStatus, target: PlacementStatus):
    """What moving from ``current`` to ``target`` is called on the status form."""
    if target is S.running:
        return _l("De stage is hervat") if current is S.paused else _l("De stage is begonnen")
    if target is S.ended_early and current is S.planned:
        return _l("De stage gaat niet door")
    return {S.paused: _l("De stage is gepauzeerd"), S.completed: _l("De stage is afgerond"),
            S.ended_early: _l("De stage is voortijdig beëindigd")}[target]
