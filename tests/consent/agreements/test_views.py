"""The school's agreement pages through their real forms: a mentor makes a plan from the
student page, fills sections (with repeating rows), sets the parties with their own
commitments, offers it for signature and sees who must sign; bad input comes back in Dutch
at the field and in the summary with the input kept (400, nothing written); a stale form is a
409 with the input kept; the diff shows what changed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from consent.agreements.access import find_agreement
from consent.agreements.models import Agreement, AgreementEvent, AgreementStatus, VersionStatus
from consent.agreements.service import content_of, save_section
from network.db import db
from tests.conftest import csrf_from
from tests.consent.agreements.conftest import CHECKS, ready_plan
from tests.factories import login

_HIDDEN = re.compile(r'name="row_version" value="([^"]*)"')


class _Form(HTMLParser):
    """What a browser submits for the page's main form: inputs (checked boxes only), the
    selected options and the textareas, as they are filled in on the page."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._in_form = self._in_main = False
        self._select = self._textarea = None
        self.action = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in_main = self._in_main or tag == "main"
        if tag == "form" and self._in_main and a.get("method") == "post" and self.action is None:
            self._in_form, self.action = True, a.get("action")
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.setdefault(self._select, []).append(a.get("value") or "")
        elif tag == "textarea":
            self._textarea = name
            self.fields.setdefault(name, []).append("")

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form = False


_ID = re.compile(r'\sid="([^"]+)"')


def unique_ids(html: str) -> str:
    """The page, after checking that no id is used twice (labels and error links point at them)."""
    ids = _ID.findall(html)
    assert len(ids) == len(set(ids)), sorted(i for i in set(ids) if ids.count(i) > 1)
    return html


def submit(client, url: str, data: dict):
    """Post the page's (first) form as a browser does, to its action: every field as the page
    fills it in (CSRF token, row version, the stored values), with ``data`` typed over it."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    parser = _Form()
    parser.feed(unique_ids(page.get_data(as_text=True)))
    form = {name: values if len(values) > 1 else values[0] for name, values in parser.fields.items()}
    form.update(data)
    return client.post(parser.action or url, data=form)


def reload(session, agreement_id):
    db.session.expire_all()
    return session.get(Agreement, agreement_id)


def events(session, agreement_id) -> int:
    return session.scalar(select(func.count(AgreementEvent.id)).where(AgreementEvent.agreement_id == agreement_id))


@pytest.fixture
def plan(session, keyring, world, actors):
    """A complete plan (checks & balances, commitments) with the gemeente as partner."""
    return ready_plan(session, keyring, world, actors, world["gemeente"])


def test_mentor_makes_fills_and_offers_a_plan_through_the_forms(client, session, keyring, world, actors):
    login(client, world["mentor"])
    student = world["student"]
    page = client.get(f"/leerlingen/{student.id}").get_data(as_text=True)
    assert f"/plannen/nieuw/{student.id}?soort=plan" in page and f"/plannen/nieuw/{student.id}?soort=privacy" in page
    assert 'href="/plannen"' in page  # the nav entry

    response = submit(client, f"/plannen/nieuw/{student.id}?soort=plan", {"soort": "plan"})
    assert response.status_code == 302
    agreement = session.scalar(select(Agreement))
    assert response.headers["Location"].endswith(f"/plannen/{agreement.id}")
    detail = client.get(f"/plannen/{agreement.id}").get_data(as_text=True)
    assert f"School-naar-werk-plan van {student.full_name}" in detail
    assert "Nog leeg" in detail and f"/plannen/{agreement.id}/onderdeel/checks" in detail
    assert agreement.verify_code in detail and f"/controle/{agreement.verify_code}" in detail
    # a second time from the student page: to the open plan, with a message
    again = client.get(f"/plannen/nieuw/{student.id}?soort=plan")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/plannen/{agreement.id}")
    assert "heeft al een school-naar-werk-plan" in client.get(again.headers["Location"]).get_data(as_text=True)

    base = f"/plannen/{agreement.id}"
    assert submit(client, f"{base}/onderdeel/future", {"goal": "Werken in de logistiek",
                                                       "occupation": "Magazijnmedewerker"}).status_code == 302
    checks = {k: v for k, v in CHECKS.items() if k != "moments"}
    checks.update({"moments-0-date": "2027-03-01", "moments-0-what": "Eindstage gestart",
                   "moments-1-date": "", "moments-1-what": ""})
    assert submit(client, f"{base}/onderdeel/checks", checks).status_code == 302
    # repeating rows: two people, the blank rows left empty
    form = client.get(f"{base}/onderdeel/people").get_data(as_text=True)
    assert 'name="people-0-name"' in form and 'name="people-1-name"' in form  # blank rows to fill
    response = submit(client, f"{base}/onderdeel/people", {
        "people-0-name": "Mevrouw Bakker", "people-0-relation": "mentor",
        "people-1-name": "Ahmed", "people-1-relation": "jobcoach", "people-1-contact": "06 1234 5678"})
    assert response.status_code == 302
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&#39;Betrokken personen&#39; is opgeslagen." in flashed
    form = client.get(f"{base}/onderdeel/people").get_data(as_text=True)
    assert 'value="Ahmed"' in form and 'name="people-3-name"' in form  # the stored rows plus blank ones

    # the parties: student and school fixed, the gemeente added, each with its own commitment
    response = submit(client, f"{base}/partijen", {
        "parties-0-role": "leerling", "parties-0-commitment": "Ik ga elke week naar mijn stage.",
        "parties-1-role": "school", "parties-1-contact": "Mevrouw Bakker (mentor)",
        "parties-1-commitment": "De school begeleidt de eindstage.",
        "parties-2-organisation_id": str(world["gemeente"].id), "parties-2-role": "jobcoach gemeente",
        "parties-2-purpose": "jobcoaching", "parties-2-commitment": "De gemeente zet een jobcoach in."})
    assert response.status_code == 302, response.get_data(as_text=True)
    agreement = reload(session, agreement.id)
    assert [p.key for p in agreement.latest.parties] == ["student", f"org-{world['school'].id}",
                                                         f"org-{world['gemeente'].id}"]
    assert agreement.latest.parties[2].commitment == "De gemeente zet een jobcoach in."
    content = content_of(keyring, agreement.latest)
    assert content["people"]["people"] == [{"name": "Mevrouw Bakker", "relation": "mentor"},
                                           {"contact": "06 1234 5678", "name": "Ahmed", "relation": "jobcoach"}]
    assert content["checks"]["moments"] == [{"date": "2027-03-01", "what": "Eindstage gestart"}]

    offer = client.get(f"{base}/aanbieden").get_data(as_text=True)
    assert offer.count('name="signers"') == 3 and offer.count("checked") >= 3  # everyone signs by default
    response = submit(client, f"{base}/aanbieden", {"signers": ["student", f"org-{world['school'].id}",
                                                                f"org-{world['gemeente'].id}"],
                                                    "order": "parallel"})
    assert response.status_code == 302, response.get_data(as_text=True)
    agreement = reload(session, agreement.id)
    assert agreement.status is AgreementStatus.awaiting and agreement.latest.content_hash
    detail = unique_ids(client.get(base).get_data(as_text=True))
    assert "Versie 1 wacht op handtekeningen" in detail
    signing = detail.split('id="h-sign"')[1].split("</section>")[0]
    for name in (student.full_name, world["school"].name, world["gemeente"].name):
        assert name in signing  # still to sign
    school_key = f"org-{world['school'].id}"
    # the mentor signs for the school
    assert f"/plannen/{agreement.id}/versies/1/ondertekenen?partij={school_key}" in signing
    assert "partij=student" not in signing and f"partij=org-{world['gemeente'].id}" not in signing
    assert f"{base}/versies/1/bundel" in detail and "In orde:" in detail


def test_the_list_shows_the_plan_with_name_status_version_and_who_can_sign(client, session, keyring, world, actors,
                                                                           plan):
    login(client, world["mentor"])
    html = client.get("/plannen").get_data(as_text=True)
    assert world["student"].full_name in html and "In voorbereiding" in html and "Versie 1: Concept" in html
    login(client, world["student_account"])
    html = client.get("/plannen").get_data(as_text=True)
    assert "School-naar-werk-plan" in html and world["student"].full_name in html
    login(client, world["rmc_staff"])  # not a party
    assert "geen plannen" in client.get("/plannen").get_data(as_text=True)


def test_bad_section_input_is_kept_with_dutch_errors_and_nothing_is_written(client, session, keyring, world, plan):
    login(client, world["mentor"])
    before = (plan.row_version, events(session, plan.id))
    response = submit(client, f"/plannen/{plan.id}/onderdeel/internship", {
        "company": "Bakkerij De Korenschoof", "start": "2027-13-45", "role": "x" * 201})
    html = unique_ids(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Controleer de volgende velden" in html
    assert 'href="#f-start"' in html and "Vul een geldige datum in" in html
    assert 'href="#f-role"' in html and "Houd dit korter dan 200 tekens." in html
    assert 'value="Bakkerij De Korenschoof"' in html and 'value="2027-13-45"' in html  # input kept
    response = submit(client, f"/plannen/{plan.id}/onderdeel/skills", {
        "skills-0-skill": "Op tijd komen", "skills-0-kind": "werknemer", "skills-0-score": "X"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'href="#f-skills-0-score"' in html and "Kies uit de lijst." in html
    assert 'value="Op tijd komen"' in html
    agreement = reload(session, plan.id)
    assert (agreement.row_version, events(session, plan.id)) == before
    assert "internship" not in content_of(keyring, agreement.latest)


def test_a_stale_section_form_is_a_conflict_that_keeps_the_input(client, session, keyring, world, actors, plan):
    login(client, world["mentor"])
    url = f"/plannen/{plan.id}/onderdeel/future"
    html = client.get(url).get_data(as_text=True)
    stale = _HIDDEN.search(html).group(1)
    agreement, access = find_agreement(session, actors["mentor"], plan.id)  # a colleague saves first
    save_section(session, actors["mentor"], keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    before = events(session, plan.id)
    response = client.post(url, data={"csrf_token": csrf_from(html), "row_version": stale,
                                      "goal": "Mijn eigen doel", "occupation": "Kok"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Iemand anders heeft deze overeenkomst intussen gewijzigd" in page
    assert "Mijn eigen doel" in page and 'value="Kok"' in page
    agreement = reload(session, plan.id)
    assert content_of(keyring, agreement.latest)["future"] == {"goal": "Werken in de zorg"}
    assert events(session, plan.id) == before
    assert f'name="row_version" value="{agreement.row_version}"' in page  # saving again is a deliberate choice


def test_bad_parties_input_is_kept_with_errors_at_the_row(client, session, keyring, world, plan):
    login(client, world["mentor"])
    before = (plan.row_version, [p.key for p in plan.latest.parties])
    response = submit(client, f"/plannen/{plan.id}/partijen", {
        "parties-2-role": "", "parties-2-commitment": "Wij doen mee.",
        "parties-3-organisation_id": str(world["far_gemeente"].id), "parties-3-role": "jobcoach",
        "parties-3-commitment": "Van ver weg."})
    html = unique_ids(response.get_data(as_text=True))
    assert response.status_code == 400
    assert 'href="#f-parties-2-role"' in html and "Vul de rol van deze partij in." in html
    assert 'href="#f-parties-3-organisation_id"' in html and "Kies een organisatie uit de regio." in html
    assert "Van ver weg." in html and "Wij doen mee." in html
    agreement = reload(session, plan.id)
    assert (agreement.row_version, [p.key for p in agreement.latest.parties]) == before


def test_offer_refusals_name_what_to_fix_and_write_nothing(client, session, keyring, world, actors):
    from consent.agreements.models import AgreementKind
    from consent.agreements.service import create_agreement

    agreement = create_agreement(session, actors["mentor"], keyring, world["student"], AgreementKind.plan)
    session.commit()
    login(client, world["mentor"])
    response = submit(client, f"/plannen/{agreement.id}/aanbieden", {"signers": [f"org-{world['school'].id}"],
                                                                      "order": "parallel"})
    html = unique_ids(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Terugvalstrategie" in html and f"/plannen/{agreement.id}/onderdeel/checks#f-fallback" in html
    assert "Kies minstens twee partijen die ondertekenen." in html
    assert "De leerling ondertekent het eigen plan" in html
    assert "heeft nog geen eigen toezegging" in html and f"/plannen/{agreement.id}/partijen" in html
    response = submit(client, f"/plannen/{agreement.id}/aanbieden", {"signers": ["student"], "order": ""})
    assert response.status_code == 400 and "tegelijk of op volgorde" in response.get_data(as_text=True)
    agreement = reload(session, agreement.id)
    assert agreement.latest.status is VersionStatus.draft and agreement.latest.content_hash is None
    assert agreement.status is AgreementStatus.draft


def test_sequential_order_follows_the_position_numbers(client, session, keyring, world, plan):
    login(client, world["mentor"])
    school, gemeente = f"org-{world['school'].id}", f"org-{world['gemeente'].id}"
    response = submit(client, f"/plannen/{plan.id}/aanbieden", {
        "signers": ["student", school, gemeente], "order": "sequential",
        f"position-{gemeente}": "1", f"position-{school}": "2", "position-student": "3"})
    assert response.status_code == 302
    agreement = reload(session, plan.id)
    assert [p.key for p in agreement.latest.parties] == [gemeente, school, "student"]
    page = client.get(f"/plannen/{plan.id}/aanbieden").get_data(as_text=True)
    assert "Versie 1 is al aangeboden" in page and 'name="signers"' not in page
    again = client.post(f"/plannen/{plan.id}/aanbieden", data={
        "csrf_token": csrf_from(page), "signers": ["student", school], "order": "parallel",
        "row_version": str(agreement.row_version)})
    assert again.status_code == 409 and "al aangeboden" in again.get_data(as_text=True)
    assert reload(session, plan.id).latest.signing_order.value == "sequential"


def test_end_needs_a_reason(client, session, world, plan):
    login(client, world["mentor"])
    response = submit(client, f"/plannen/{plan.id}/beeindigen", {"reason": ""})
    assert response.status_code == 400 and "Geef een reden." in response.get_data(as_text=True)
    assert reload(session, plan.id).status is AgreementStatus.draft
    response = submit(client, f"/plannen/{plan.id}/beeindigen", {"reason": "De leerling heeft een vaste baan."})
    assert response.status_code == 302
    agreement = reload(session, plan.id)
    assert agreement.status is AgreementStatus.ended and agreement.end_reason == "De leerling heeft een vaste baan."
    html = client.get(f"/plannen/{plan.id}").get_data(as_text=True)
    assert "De leerling heeft een vaste baan." in html and "/onderdeel/" not in html
    assert client.get(f"/plannen/{plan.id}/onderdeel/future").status_code == 409


def test_new_without_a_kind_is_a_dutch_error(client, session, world):
    login(client, world["mentor"])
    response = submit(client, f"/plannen/nieuw/{world['student'].id}", {})
    assert response.status_code == 400 and "Kies wat u wilt maken" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Agreement.id))) == 0


def test_the_diff_shows_the_changed_field(client, session, keyring, world, actors, plan):
    from consent.agreements.lifecycle import offer_for_signature
    from consent.agreements.models import SigningOrder

    agreement, access = find_agreement(session, actors["mentor"], plan.id)
    offer_for_signature(session, actors["mentor"], keyring, agreement, access, order=SigningOrder.parallel,
                        signers=[p.key for p in agreement.latest.parties])
    session.commit()
    login(client, world["mentor"])
    response = submit(client, f"/plannen/{plan.id}/onderdeel/future", {"goal": "Werken in de zorg",
                                                                       "occupation": "Magazijnmedewerker"})
    assert response.status_code == 302
    agreement = reload(session, plan.id)
    assert [v.status for v in agreement.versions] == [VersionStatus.superseded, VersionStatus.draft]
    html = client.get(f"/plannen/{plan.id}/verschil?van=1&naar=2").get_data(as_text=True)
    table = html.split("<table")[1]
    assert "Wat is jouw doel?" in table and "Werken in de logistiek" in table and "Werken in de zorg" in table
    assert "Toekomstig beroep" not in table  # unchanged
    assert 'name="van"' in html and 'name="naar"' in html  # version selectors without JavaScript
    detail = client.get(f"/plannen/{plan.id}").get_data(as_text=True)
    assert f"/plannen/{plan.id}/verschil?van=1&amp;naar=2" in detail
    assert "Toekomstbeeld" in detail.split('id="h-events"')[1]  # who changed what
    version = unique_ids(client.get(f"/plannen/{plan.id}/versies/1").get_data(as_text=True))
    assert unique_ids(html) and unique_ids(detail)
    assert "Werken in de logistiek" in version and plan.latest.parties[0].name in version


def test_privacy_flows_use_the_parties_purposes_and_categories_and_warn_without_a_basis(client, session, keyring,
                                                                                         world):
    from consent.models import ConsentRequest

    login(client, world["mentor"])
    student = world["student"]
    response = submit(client, f"/plannen/nieuw/{student.id}?soort=privacy", {"soort": "privacy"})
    agreement = session.scalar(select(Agreement))
    base = f"/plannen/{agreement.id}"
    gemeente = f"org-{world['gemeente'].id}"
    assert submit(client, f"{base}/partijen", {
        "parties-2-organisation_id": str(world["gemeente"].id), "parties-2-role": "verwerker",
        "parties-2-purpose": "jobcoaching", "parties-2-commitment": "Alleen voor jobcoaching."}).status_code == 302
    form = client.get(f"{base}/onderdeel/flows").get_data(as_text=True)
    assert f'<option value="{gemeente}">{world["gemeente"].name}</option>' in form  # the parties as choices
    assert 'value="jobcoaching"' in form and 'value="school-naar-werk-plan"' in form  # purposes, categories
    bad = submit(client, f"{base}/onderdeel/flows", {"flows-0-recipient": "org-99999",
                                                     "flows-0-purpose": "jobcoaching"})
    assert bad.status_code == 400 and 'href="#f-flows-0-recipient"' in bad.get_data(as_text=True)
    response = submit(client, f"{base}/onderdeel/flows", {
        "flows-0-recipient": gemeente, "flows-0-purpose": "jobcoaching",
        "flows-0-categories": ["contactgegevens", "opleiding"], "flows-0-basis": "toestemming"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert content_of(keyring, reload(session, agreement.id).latest)["flows"]["flows"] == [
        {"basis": "toestemming", "categories": ["contactgegevens", "opleiding"], "purpose": "jobcoaching",
         "recipient": gemeente}]
    form = client.get(f"{base}/onderdeel/flows").get_data(as_text=True)
    assert form.count("checked") == 2  # the stored categories ticked again

    detail = client.get(base).get_data(as_text=True)
    sharing = detail.split('id="delen"')[1].split("</section>")[0]
    assert world["gemeente"].name in sharing and "Contactgegevens" in sharing
    assert "Vraag de leerling om toestemming" in sharing
    response = submit(client, base, {})  # the warning's one-step button (the page's first form)
    assert response.status_code == 302
    request_row = session.scalar(select(ConsentRequest))
    assert request_row.recipient_id == world["gemeente"].id and request_row.categories == "contactgegevens opleiding"
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "De vraag om toestemming staat klaar" in detail and "Er staat al een vraag om toestemming open" in detail
