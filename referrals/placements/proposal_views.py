"""The map's editors answer the companies schools propose with a placement
(``/stagebedrijven/voorstellen``): the uitstroomcoördinator of the region (the hub admin of any
region) adds the company, choosing its entry on the sociale kaart, or declines with a reason.
Company data only: no student is named on these pages.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from network.db import db
from network.errors import Conflict
from network.permissions import Permission
from network.web import current_principal, keyring, redirect_to, require, submit
from referrals.placements.blueprint import bp
from referrals.placements.employers import decide_proposal, employer_entries, find_proposal, list_proposals
from referrals.placements.forms import employer_groups
from referrals.placements.models import ProposalStatus
from referrals.placements.schemas import ProposalDecisionArgs
from referrals.placements.views import base_url


def _page(*, values=None, errors=None, current=None, conflict=None, status: int = 200):
    principal = current_principal()
    proposals = list_proposals(db.session, principal)
    regions = {p.region_id for p in proposals if p.status is ProposalStatus.pending}
    groups = {region: employer_groups(employer_entries(db.session, region)) for region in regions}
    html = render_template("referrals/placements/proposals.html", proposals=proposals, groups=groups,
                           values=values or {}, errors=errors or {}, current=current, conflict=conflict,
                           pending=ProposalStatus.pending, added=ProposalStatus.added)
    return html, status


@bp.get("/stagebedrijven/voorstellen")
@require(Permission.employer_proposal_review)
def proposals():
    return _page()


@bp.post("/stagebedrijven/voorstellen/<int:proposal_id>")
@require(Permission.employer_proposal_review)
def decide(proposal_id):
    principal = current_principal()
    proposal = find_proposal(db.session, principal, proposal_id)
    values = request.form.to_dict()
    try:
        linked, errors = submit(ProposalDecisionArgs, request.form, lambda data: decide_proposal(
            db.session, principal, keyring(), proposal, data, base_url=base_url()))
    except Conflict as exc:
        db.session.rollback()
        return _page(current=proposal_id, conflict=str(exc.detail), status=409)
    if not errors:
        if values.get("decision") == ProposalStatus.added.value:
            message = ngettext("Het bedrijf staat op de kaart; %(num)d stage verwijst er nu naar.",
                               "Het bedrijf staat op de kaart; %(num)d stages verwijzen er nu naar.", linked)
        else:
            message = _("Het voorstel is afgewezen; de school krijgt bericht.")
        return redirect_to("placements.proposals", message)
    return _page(values=values, errors=errors, current=proposal_id, status=400)
