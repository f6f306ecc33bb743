"""The company side of the map for the school (issue 19, item 5):

- ``/stagebedrijven/<id>``: a stagebedrijf's page for school staff and the uitstroomcoördinator:
  what it offers (typed on the sociale kaart), its placement history and the employers' own
  feedback (computed: :mod:`.employer_profile`);
- ``/trajecten/<id>/stagebedrijven``: the employers of the region proposed for a student, with
  the reasons and the score (:mod:`.employer_matching`), each with a link to register a
  placement there. School staff of the route only; nothing of it reaches the employer.
"""

from __future__ import annotations

from flask import render_template, request

from network.db import db
from network.permissions import Permission
from network.web import current_principal, keyring, require
from referrals.placements.blueprint import bp
from referrals.placements.employer_matching import propose_employers
from referrals.placements.employer_profile import employer_profile as build_profile
from referrals.placements.states import KIND_LABELS, STATUS_LABELS, PlacementKind
from referrals.route_service import find_route
from socialmap.schemas import FIELD_LABELS
from socialmap.vocab import ADAPTATIONS, PLACE_KINDS


@bp.get("/stagebedrijven/<int:employer_id>")
@require(Permission.employer_profile_view)
def employer_profile(employer_id):
    profile = build_profile(db.session, current_principal(), keyring(), employer_id)
    return render_template("referrals/placements/employer_profile.html", profile=profile, labels=FIELD_LABELS,
                           place_kinds=list(PLACE_KINDS.items()), adaptation_labels=ADAPTATIONS,
                           kind_labels=KIND_LABELS, status_labels=STATUS_LABELS)


@bp.get("/trajecten/<int:route_id>/stagebedrijven")
@require(Permission.route_view)
def employer_matches(route_id):
    principal = current_principal()
    route = find_route(db.session, principal, route_id)
    chosen = request.args.get("soort", "")
    kind = PlacementKind(chosen) if chosen in {k.value for k in PlacementKind} else None
    if kind is None and not chosen and route.phase.value == "eindstage":
        kind = PlacementKind.eindstage
    matches = propose_employers(db.session, principal, keyring(), route, kind=kind)
    return render_template("referrals/placements/employer_matches.html", matches=matches, route=route,
                           kinds=[(k.value, KIND_LABELS[k]) for k in PlacementKind], kind_labels=KIND_LABELS,
                           can_register=principal.has(Permission.route_manage) and route.status.value != "closed")
