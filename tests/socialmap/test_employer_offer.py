"""The company side of an employer entry (issue 19, item 5): what schools ask of a stagebedrijf,
typed by whoever edits the entry today, with Dutch field errors, the entry's history and audit,
shown on the entry's page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, NotFound
from network.models import OrganisationType, Role
from referrals.placements.states import PlacementKind
from socialmap.employer_offer import parse_offer, save_offer
from socialmap.models import ServiceChange
from socialmap.vocab import ADAPTATIONS, PLACE_KINDS
from tests.conftest import post_form
from tests.factories import OrganisationFactory, RegionFactory, login, make_member, principal_for
from tests.socialmap.conftest import add_service

FORM = {"places-eindstage": "2", "places-bpv": "1", "places-snuffelstage": "", "adaptations": ["vaste_begeleider"],
        "trained_trainer": "1", "trained_since": "2023-09-01", "function-0-name": "Orderpicker",
        "function-0-werkprocessen": "Verzamelt orders\n\nControleert orders\n", "bbl_possible": "1",
        "sbb_recognised": "1", "sbb_number": "10023456", "banenafspraak": "1"}


@pytest.fixture
def employer_world(session, categories):
    region, far = RegionFactory(), RegionFactory()
    company = OrganisationFactory(region=region, type=OrganisationType.werkgever, name="Logistiek Centrum")
    hub, far_hub = OrganisationFactory(region=region, type=OrganisationType.hub), OrganisationFactory(
        region=far, type=OrganisationType.hub)
    school = OrganisationFactory(region=region, school=True)
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente)
    world = {"company": company, "entry": add_service(company, "Stage orderpicken"),
             "gemeente_entry": add_service(gemeente, "Jobcoaching"),
             "coordinator": make_member(Role.coordinator, hub),
             "far_coordinator": make_member(Role.coordinator, far_hub),
             "own_staff": make_member(Role.partner_staff, company), "mentor": make_member(Role.mentor, school)}
    session.commit()
    return world


class Form(dict):
    """A form's fields as Werkzeug's MultiDict answers them (getlist for the checkboxes)."""

    def getlist(self, key):
        value = self.get(key)
        return list(value) if isinstance(value, list) else [] if value is None else [value]


def test_the_place_kinds_are_the_placement_kinds():
    """socialmap keeps its own copy (it does not import referrals): the codes must stay the same."""
    assert list(PLACE_KINDS) == [kind.value for kind in PlacementKind]


def test_the_form_is_parsed_into_the_offer():
    data, errors = parse_offer(Form(FORM), today=dt.date(2026, 12, 1))
    assert errors == {}
    assert data["places"] == {"eindstage": 2, "bpv": 1}
    assert data["functions"] == [{"name": "Orderpicker", "werkprocessen": ["Verzamelt orders", "Controleert orders"]}]
    assert data["trained_since"] == dt.date(2023, 9, 1) and data["trained_trainer"] is True
    assert data["sbb_number"] == "10023456" and data["loonkostensubsidie"] is False


@pytest.mark.parametrize("field, value, error_key, message", [
    ("places-bpv", "veel", "places-bpv", "Vul een aantal plaatsen in van 0 tot en met 99."),
    ("places-bpv", "100", "places-bpv", "Vul een aantal plaatsen in van 0 tot en met 99."),
    ("places-bpv", "-1", "places-bpv", "Vul een aantal plaatsen in van 0 tot en met 99."),
    ("adaptations", ["vaste_begeleider", "zwembad"], "adaptations", "Kies aanpassingen uit de lijst."),
    ("trained_since", "1-9-2023", "trained_since", "Vul een datum in, bijvoorbeeld 2024-03-01."),
    ("trained_since", "2030-01-01", "trained_since", "De datum kan niet in de toekomst liggen."),
    ("function-0-name", "", "function-0-name", "Geef de functie een naam, of maak de werkprocessen leeg."),
    ("function-0-werkprocessen", "x" * 201, "function-0-werkprocessen", "Houd elk werkproces korter dan 200 tekens."),
    ("sbb_number", "10-02", "sbb_number", "Een SBB-nummer bestaat uit cijfers (en letters), ten hoogste 20 tekens."),
])
def test_bad_input_is_a_dutch_field_error(field, value, error_key, message):
    data, errors = parse_offer(Form({**FORM, field: value}), today=dt.date(2026, 12, 1))
    assert data is None and [str(m) for m in errors[error_key]] == [message]


def test_a_since_date_or_an_sbb_number_without_its_yes_is_refused():
    form = Form({**FORM, "trained_trainer": "", "sbb_recognised": ""})
    data, errors = parse_offer(form, today=dt.date(2026, 12, 1))
    assert data is None and set(errors) == {"trained_since", "sbb_number"}


def test_the_regions_coordinator_saves_it_with_history_and_audit(session, employer_world):
    entry, actor = employer_world["entry"], principal_for(employer_world["coordinator"])
    data, _errors = parse_offer(Form(FORM))
    changed = save_offer(session, actor, entry, data)
    session.commit()
    assert entry.employer_offer.places == {"eindstage": 2, "bpv": 1} and entry.sbb_recognised is True
    assert "employer.places" in changed and "sbb_recognised" in changed
    history = {c.field: c for c in session.scalars(select(ServiceChange).where(
        ServiceChange.service_id == entry.id, ServiceChange.resource_type == "employer"))}
    assert history["places"].new_value == "BPV (stage): 1, Eindstage: 2"  # labels, not codes
    assert history["adaptations"].new_value == ADAPTATIONS["vaste_begeleider"]
    [audit] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "socialmap:employer:update")).all()
    assert audit.object_id == str(entry.uuid) and audit.student_id is None
    # saving the same again changes nothing and leaves no history
    assert save_offer(session, actor, entry, dict(data, version=entry.version)) == []


@pytest.mark.parametrize("who, error", [("far_coordinator", Forbidden), ("mentor", Forbidden)])
def test_others_may_not_edit_it(session, employer_world, who, error):
    data, _errors = parse_offer(Form(FORM))
    with pytest.raises(error):
        save_offer(session, principal_for(employer_world[who]), employer_world["entry"], data)


def test_the_companys_own_staff_edit_it_but_not_on_another_entry_than_an_employers(session, employer_world):
    data, _errors = parse_offer(Form(FORM))
    save_offer(session, principal_for(employer_world["own_staff"]), employer_world["entry"], data)
    with pytest.raises(NotFound):
        save_offer(session, principal_for(employer_world["coordinator"]), employer_world["gemeente_entry"], data)


def test_a_save_from_an_older_version_is_a_conflict(session, employer_world):
    entry = employer_world["entry"]
    data, _errors = parse_offer(Form({**FORM, "version": str(entry.version - 1 or 99)}))
    with pytest.raises(Conflict):
        save_offer(session, principal_for(employer_world["coordinator"]), entry, data)


def test_the_form_page_keeps_what_was_typed_and_the_entry_page_shows_it(client, session, employer_world):
    entry = employer_world["entry"]
    login(client, employer_world["coordinator"])
    url = f"/sociale-kaart/diensten/{entry.uuid}/stagebedrijf"
    assert client.get(url).status_code == 200
    bad = post_form(client, url, {**FORM, "places-bpv": "veel", "function-0-name": "Orderpicker extra"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Vul een aantal plaatsen in van 0 tot en met 99." in html
    assert 'value="veel"' in html and 'value="Orderpicker extra"' in html
    assert entry.employer_offer is None  # nothing written
    saved = post_form(client, url, FORM)
    assert saved.status_code == 302
    page = client.get(f"/sociale-kaart/diensten/{entry.uuid}").get_data(as_text=True)
    assert "Als stagebedrijf" in page and "Eindstage: 2" in page and "Vaste begeleider op de werkvloer" in page
    assert "Verzamelt orders" in page and "sinds 01-09-2023" in page and "10023456" in page
    assert "vaste_begeleider" not in page and "eindstage:" not in page  # no codes on the page
    assert "Stagebedrijf" in page and "Stageplaatsen per soort" in page  # the history, in words


@pytest.mark.parametrize("who, status", [("mentor", 404), ("far_coordinator", 404)])
def test_the_form_is_walled(app, client, session, employer_world, who, status, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # the post reaches the view
    login(client, employer_world[who])
    url = f"/sociale-kaart/diensten/{employer_world['entry'].uuid}/stagebedrijf"
    assert client.get(url).status_code == status
    assert client.post(url, data=FORM).status_code == status
    assert employer_world["entry"].employer_offer is None


def test_a_gemeente_entry_has_no_stagebedrijf_form(client, session, employer_world):
    login(client, employer_world["coordinator"])
    assert client.get(f"/sociale-kaart/diensten/{employer_world['gemeente_entry'].uuid}/stagebedrijf"
                      ).status_code == 404


def test_the_public_sees_the_offer_but_no_profile_link(client, session, employer_world):
    data, _errors = parse_offer(Form(FORM))
    save_offer(session, principal_for(employer_world["coordinator"]), employer_world["entry"], data)
    session.commit()
    page = client.get(f"/sociale-kaart/diensten/{employer_world['entry'].uuid}").get_data(as_text=True)
    assert "Eindstage: 2" in page and "/stagebedrijven/" not in page
