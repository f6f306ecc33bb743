"""The partner inbox and the receiver's referral page, through the real forms: filters and
cursor pagination, every step incl. bad input (400, Dutch, input kept, nothing changed), stale
forms (a clear message with what can be done now), tenant walls and withdrawn consent."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from consent.service import withdraw_consent
from network import clock
from network.db import db
from referrals import transitions as rt
from referrals import wizard_service as ws
from referrals.models import EventKind, Referral, ReferralEvent
from referrals.states import ReferralStatus as S
from tests.conftest import csrf_from
from tests.factories import login
from tests.referrals.conftest import add_service, draft_data

INBOX = "/inbox"


def sent(session, keyring, rworld, ractors, *, student=None, today=None, **overrides) -> Referral:
    """A referral from the mentor to the gemeente's jobcoach service, sent."""
    referral = ws.save_draft(session, ractors["mentor"], keyring, student or rworld["student"],
                             draft_data(rworld, **overrides))
    ws.send_referral(session, ractors["mentor"], keyring, referral, today=today)
    session.commit()
    return referral


def page_of(referral) -> str:
    return f"{INBOX}/{referral.id}"


def reload(referral) -> Referral:
    db.session.expire_all()
    return db.session.get(Referral, referral.id)


def post(client, referral, path: str, data: dict, *, version=True):
    """Post one of the page's forms as a browser does (the page's CSRF token and version)."""
    html = client.get(page_of(referral)).get_data(as_text=True)
    current = reload(referral)
    payload = {"csrf_token": csrf_from(html), **data}
    if version:
        payload.setdefault("version", str(current.version))
    return client.post(f"{page_of(referral)}{path}", data=payload)


def events(session, referral, kind) -> int:
    return session.scalar(select(func.count()).select_from(ReferralEvent).where(
        ReferralEvent.referral_id == referral.id, ReferralEvent.kind == kind))


# -- the inbox ---------------------------------------------------------------------------------

def test_inbox_lists_my_organisations_referrals_with_names_only_on_a_basis(client, session, keyring, rworld, ractors):
    mine = sent(session, keyring, rworld, ractors)
    # no consent for Noor: the gemeente sees the referral, not her name
    unnamed = ws.save_draft(session, ractors["mentor"], keyring, rworld["other_student"], draft_data(rworld))
    session.commit()
    unnamed.status = S.requested  # a referral whose basis is gone (not sendable today)
    session.commit()
    login(client, rworld["jobcoach"])
    response = client.get(INBOX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Nr. {mine.id}" in html and "Sanne Jobzoeker" in html and "Jobcoaching jongeren" in html
    assert "ROC Testrand" in html and "Nieuw, wacht op antwoord" in html
    assert f"Nr. {unnamed.id}" in html and "Zonderbasis" not in html and "Geen toegang tot gegevens" in html


def test_inbox_marks_late_answers_in_words(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    referral.response_due = clock.today() - dt.timedelta(days=2)
    session.commit()
    login(client, rworld["jobcoach"])
    html = client.get(INBOX).get_data(as_text=True)
    assert "te laat" in html


def test_school_staff_get_403_and_other_partners_404(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["mentor"])
    assert client.get(INBOX).status_code == 403
    assert client.get(page_of(referral)).status_code == 403
    for other in ("rmc_staff", "far_coach"):
        login(client, rworld[other])
        assert client.get(page_of(referral)).status_code == 404
        html = client.get(INBOX).get_data(as_text=True)
        assert f"Nr. {referral.id}" not in html


def test_drafts_never_reach_the_inbox(client, session, keyring, rworld, ractors):
    draft = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    session.commit()
    login(client, rworld["jobcoach"])
    assert f"Nr. {draft.id}<" not in client.get(INBOX).get_data(as_text=True)
    assert client.get(page_of(draft)).status_code == 404


def test_filters(client, session, keyring, rworld, ractors):
    first = sent(session, keyring, rworld, ractors)
    second = sent(session, keyring, rworld, ractors)
    extra = add_service(rworld["gemeente"], "Werk en inkomen")
    other_service = sent(session, keyring, rworld, ractors, service_id=extra.id)
    rt.transition(session, ractors["jobcoach"], keyring, first, S.accepted)  # owner: jobcoach
    rt.transition(session, ractors["jobcoach"], keyring, second, S.rejected, reason="Geen plek")
    second.response_due = clock.today() - dt.timedelta(days=1)
    other_service.response_due = clock.today() - dt.timedelta(days=3)
    session.commit()
    login(client, rworld["jobcoach"])

    def numbers(query: str) -> set[int]:
        response = client.get(f"{INBOX}?{query}")
        assert response.status_code == 200
        return {int(n) for n in re.findall(r"Nr\. (\d+)</a>", response.get_data(as_text=True))}

    assert numbers("") == {first.id, other_service.id}  # open by default
    assert numbers("status=alle") == {first.id, second.id, other_service.id}
    assert numbers("status=rejected") == {second.id}
    assert numbers(f"status=alle&service={extra.id}") == {other_service.id}
    assert numbers("status=alle&due=overdue") == {other_service.id}  # only requested ones are late
    assert numbers("status=alle&owner=me") == {first.id}
    assert numbers("status=alle&owner=none") == {second.id, other_service.id}  # declining assigns nobody
    assert numbers("status=nonsense&due=whatever") == {first.id, other_service.id}  # ignored, not a crash
    html = client.get(f"{INBOX}?status=alle&owner=me").get_data(as_text=True)
    assert re.search(r'<option value="me" selected>', html)  # the form keeps the filter


def test_cursor_pagination_keeps_filters_and_never_repeats(client, session, keyring, rworld, ractors, monkeypatch):
    from referrals import inbox_views

    monkeypatch.setattr(inbox_views, "PER_PAGE", 3)
    made = [sent(session, keyring, rworld, ractors).id for _n in range(7)]
    login(client, rworld["jobcoach"])
    seen, url, pages = [], f"{INBOX}?status=open", 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(n) for n in re.findall(r"Nr\. (\d+)</a>", html)]
        pages += 1
        match = re.search(r'href="([^"]+)" rel="next">Volgende pagina', html)
        url = match.group(1).replace("&amp;", "&") if match else None
        if url:
            assert "status=open" in url and "cursor=" in url
    assert pages == 3
    assert seen == sorted(made, reverse=True) and len(set(seen)) == 7


def test_bad_cursor_shows_the_first_page_with_a_message(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    response = client.get(f"{INBOX}?cursor=bm9uc2Vuc2U")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Ongeldige cursor" in html and f"Nr. {referral.id}" in html


# -- the receiver's page -----------------------------------------------------------------------

def test_page_shows_facts_packet_in_dutch_timeline_and_only_allowed_steps(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    response = client.get(page_of(referral))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sanne Jobzoeker" in html and "Jobcoaching jongeren" in html and "Mentor Jansen" in html
    assert "Contactgegevens" in html and "Reden van de verwijzing" in html and "logistiek" in html
    assert "Gezondheid" in html and "Snel overprikkeld" in html and "K. de Wit" in html
    assert "Kleine schuld" not in html  # leefgebieden were not shared
    assert "111222333" not in html  # no BSN shared (and never shown in full)
    assert "Accepteren" in html and "Afwijzen" in html and "Oppakken" in html
    assert "Afronden met een uitkomst" not in html and "Pauzeren" not in html
    assert f'name="version" value="{referral.version}"' in html
    assert "Jobcoach Visser" in html  # a colleague to assign to
    assert "Status" in html and "Nieuw, wacht op antwoord" in html  # the timeline


def test_claim_and_assign(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    response = post(client, referral, "/toewijzen", {"owner_account_id": str(rworld["jobcoach"].id)})
    assert response.status_code == 302
    assert reload(referral).owner_account_id == rworld["jobcoach"].id
    response = post(client, referral, "/toewijzen", {"owner_account_id": str(rworld["jobcoach2"].id)})
    assert response.status_code == 302
    assert reload(referral).owner_account_id == rworld["jobcoach2"].id
    html = client.get(page_of(referral)).get_data(as_text=True)
    assert "Toegewezen aan Jobcoach Visser" in html and "(intern)" in html
    # a colleague of another organisation cannot be chosen
    response = post(client, referral, "/toewijzen", {"owner_account_id": str(rworld["rmc_staff"].id)})
    assert response.status_code == 400 and "Kies een collega van uw organisatie" in response.get_data(as_text=True)
    assert reload(referral).owner_account_id == rworld["jobcoach2"].id


def test_accept_handover_update_note_hold_resume_complete(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    assert post(client, referral, "/status", {"status": "accepted"}).status_code == 302
    assert reload(referral).status is S.accepted
    html = client.get(page_of(referral)).get_data(as_text=True)
    assert "Warme overdracht vastleggen" in html and "Accepteren" not in html
    held = (clock.today() - dt.timedelta(days=1)).isoformat()
    response = post(client, referral, "/overdracht", {"held_on": held, "present": "Sanne, mentor, jobcoach"})
    assert response.status_code == 302
    found = reload(referral)
    assert found.status is S.in_progress and found.handover_confirmed_at is not None
    assert post(client, referral, "/bericht", {"text": "Eerste gesprek gevoerd.", "visibility": "update"},
                version=False).status_code == 302
    assert post(client, referral, "/bericht", {"text": "Let op: moeder belt vaak.", "visibility": "note"},
                version=False).status_code == 302
    assert post(client, referral, "/status", {"status": "on-hold", "reason": "Ziek"}).status_code == 302
    assert reload(referral).status is S.on_hold
    assert "Hervatten" in client.get(page_of(referral)).get_data(as_text=True)
    assert post(client, referral, "/status", {"status": "in-progress"}).status_code == 302
    assert post(client, referral, "/status", {"status": "completed", "outcome": "werk"}).status_code == 302
    found = reload(referral)
    assert found.status is S.completed and found.outcome.value == "werk"
    html = client.get(page_of(referral)).get_data(as_text=True)
    assert "Eerste gesprek gevoerd." in html and "Let op: moeder belt vaak." in html
    assert "Afgerond" in html and "Werk" in html and "Accepteren" not in html
    # the school sees the update, not the internal note
    from referrals.referral_timeline import event_body, visible_events
    bodies = [event_body(keyring, e) for e in visible_events(found, rworld["school"].id)]
    assert "Eerste gesprek gevoerd." in bodies and "Let op: moeder belt vaak." not in bodies


def test_confirm_a_school_recorded_handover(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    rt.record_handover(session, ractors["mentor"], keyring, referral, held_on=clock.today(), present="Sanne, mentor")
    session.commit()
    login(client, rworld["jobcoach"])
    assert "Warme overdracht bevestigen" in client.get(page_of(referral)).get_data(as_text=True)
    assert post(client, referral, "/overdracht/bevestigen", {}).status_code == 302
    assert reload(referral).status is S.in_progress


def test_decline_without_reason_is_400_keeps_input_and_changes_nothing(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    suggestion = add_service(rworld["rmc"], "RMC-trajectbegeleiding")
    before = (reload(referral).version, events(session, referral, EventKind.transition))
    login(client, rworld["jobcoach"])
    response = post(client, referral, "/status", {"status": "rejected", "reason": "",
                                                  "suggestion_service_id": str(suggestion.id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Geef een reden op." in html and 'href="#f-rejected-reason"' in html
    assert f'<option value="{suggestion.id}" selected>' in html  # the choice is kept
    assert (reload(referral).version, events(session, referral, EventKind.transition)) == before
    assert reload(referral).status is S.requested
    response = post(client, referral, "/status", {"status": "rejected", "reason": "Wij hebben geen plek",
                                                  "suggestion_service_id": str(suggestion.id)})
    assert response.status_code == 302
    found = reload(referral)
    assert found.status is S.rejected
    assert "Wij hebben geen plek" in found.status_reason and "RMC-trajectbegeleiding" in found.status_reason


@pytest.mark.parametrize("path, data, field, message", [
    ("/overdracht", {"held_on": "", "present": "Sanne"}, "handover-held_on", "Vul dit veld in."),
    ("/overdracht", {"held_on": "2099-01-01", "present": "Sanne"}, "handover-held_on", "toekomst"),
    ("/overdracht", {"held_on": "2026-01-05", "present": ""}, "handover-present", "Vul dit veld in."),
    ("/status", {"status": "completed"}, "completed-outcome", "Kies de uitkomst."),
    ("/status", {"status": "failed", "reason": " "}, "failed-reason", "Geef een reden op."),
    ("/bericht", {"text": "", "visibility": "update"}, "message-text", "Vul dit veld in."),
])
def test_bad_input_rerenders_in_dutch_and_changes_nothing(client, session, keyring, rworld, ractors, path, data, field,
                                                          message):
    referral = sent(session, keyring, rworld, ractors)
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    session.commit()
    version = reload(referral).version
    count = session.scalar(select(func.count()).select_from(ReferralEvent))
    login(client, rworld["jobcoach"])
    response = post(client, referral, path, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html and f'href="#f-{field}"' in html and f'id="f-{field}"' in html
    for value in data.values():
        if value.strip() and not value.startswith(("completed", "failed")):
            assert value in html  # what was typed is still there
    assert reload(referral).version == version and reload(referral).status is S.accepted
    assert session.scalar(select(func.count()).select_from(ReferralEvent)) == count


def test_stale_or_illegal_step_is_refused_with_what_is_allowed_now(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    html = client.get(page_of(referral)).get_data(as_text=True)
    token, stale = csrf_from(html), str(referral.version)
    assert post(client, referral, "/status", {"status": "rejected", "reason": "Vol"}).status_code == 302
    # the accept form still open in another tab
    response = client.post(f"{page_of(referral)}/status", data={"csrf_token": token, "status": "accepted",
                                                                "version": stale})
    assert response.status_code == 303
    html = client.get(page_of(referral)).get_data(as_text=True)
    assert "Afgewezen" in html and "afgesloten" in html
    assert reload(referral).status is S.rejected
    # without a version the state machine refuses it all the same
    response = client.post(f"{page_of(referral)}/status", data={"csrf_token": token, "status": "accepted"})
    assert response.status_code == 303
    assert "Deze stap kan niet" in client.get(page_of(referral)).get_data(as_text=True)


def test_stale_version_of_an_open_referral_lists_the_steps(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    response = post(client, referral, "/status", {"status": "accepted", "version": str(referral.version - 1 or 99)})
    assert response.status_code == 303
    html = client.get(page_of(referral)).get_data(as_text=True)
    assert "Iemand anders heeft deze verwijzing intussen gewijzigd" in html
    assert "Wat nu kan: Accepteren, Afwijzen" in html
    assert reload(referral).status is S.requested


def test_withdrawn_consent_shows_the_message_and_no_data(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    assert "Sanne Jobzoeker" in client.get(page_of(referral)).get_data(as_text=True)
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    html = client.get(page_of(referral)).get_data(as_text=True)
    assert "De leerling heeft de toestemming ingetrokken; de gedeelde gegevens zijn verwijderd" in html
    for secret in ("Sanne", "Jobzoeker", "Snel overprikkeld", "logistiek", "K. de Wit"):
        assert secret not in html
    assert "Geen toegang tot gegevens" in html
    html = client.get(INBOX).get_data(as_text=True)
    assert "Jobzoeker" not in html and "Geen toegang tot gegevens" in html
