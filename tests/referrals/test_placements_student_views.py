"""The student's own placements in the portal (``/mijn-gegevens/stages``): the internship in
words (no codes), its learning goals and werkprocessen, and the visitekaartje's people while it
runs; decided and audited under the portal's ``inzage``; another student sees none of it."""

from __future__ import annotations

import re

from sqlalchemy import select

from network.audit import AuditEvent
from network.db import db
from network.models import Role
from referrals.placements.lifecycle import change_status
from referrals.placements.service import create_placement
from tests.factories import StudentFactory, login, make_member
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


def test_the_student_sees_their_placements_and_whom_to_call(client, session, keyring, pworld, pactors):
    placement = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                                 placement_data(pworld, learning_goals=["Op tijd beginnen"]))
    change_status(session, pactors["mentor"], placement, "running")
    account = make_member(Role.student, pworld["school"])
    pworld["student"].account_id = account.id
    session.commit()
    login(client, account)
    page = client.get("/mijn-gegevens/stages")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Mijn stages" in html
    assert "bij Bakkerij Van Dalen" in html
    assert "Loopt" in html and "Op tijd beginnen" in html and "Wie bel je wanneer?" in html
    assert "Praktijkopleider bij het bedrijf: Henk van Dalen" in html
    assert not re.search(r"\b(running|bpv)\b", html)  # no codes
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:student-view")).all()
    assert len(reads) == 1 and reads[0].purpose == "inzage" and reads[0].student_id == str(pworld["student"].id)
    other = make_member(Role.student, pworld["school"])
    StudentFactory(school=pworld["school"], account_id=other.id)
    session.commit()
    login(client, other)
    html = client.get("/mijn-gegevens/stages").get_data(as_text=True)
    assert "Je hebt nog geen stage." in html and "Bakkerij" not in html
