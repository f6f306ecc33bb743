"""The issue's "Bad input" list, end to end through the HTML forms: a category the purpose
does not need, validity in the past, a recipient outside the region, a recipient whose kind the
purpose does not name (an employer for "Uitkering en regelzaken", issue 18 item 3b), a
representative for a 17-year-old (plus a date that is no date). Each is refused with a clear Dutch message, the
form comes back with the input kept, and nothing is half-saved: no consent, no receipt, no
request, no e-mail, no audit event of a change."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from consent.models import Consent, ConsentItem, ConsentReceipt, ConsentRequest
from network import clock
from network.audit import AuditEvent
from network.models import OutboxMessage
from tests.conftest import post_form
from tests.factories import login

PORTAL = "/mijn-gegevens/toestemmingen"
YESTERDAY = (clock.today() - dt.timedelta(days=1)).isoformat()

#: form -> (who posts, page, post url, prefix of the category checkbox ids)
FORMS = {
    "portal": ("student_account", lambda w: PORTAL, lambda w: PORTAL),
    "staff-record": ("mentor", lambda w: f"/leerlingen/{w['student'].id}/toestemmingen",
                     lambda w: f"/leerlingen/{w['student'].id}/toestemmingen"),
    "staff-ask": ("mentor", lambda w: f"/leerlingen/{w['student'].id}/toestemmingen",
                  lambda w: f"/leerlingen/{w['student'].id}/toestemmingen/verzoek"),
}


def _base(world, form):
    data = {"recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
            "categories": ["contactgegevens", "opleiding"]}
    if form == "staff-record":
        data["channel"] = "paper"
    return data


#: case -> (forms it applies to, changes, the Dutch message, a piece of the kept input)
CASES = {
    "category the purpose does not need": (
        ("portal", "staff-record", "staff-ask"),
        lambda w: {"purpose_code": "rmc-nazorg", "categories": ["contactgegevens", "school-naar-werk-plan"]},
        "School-naar-werk-plan is niet nodig voor RMC-nazorg en kan daarom niet gedeeld worden.",
        'value="school-naar-werk-plan" checked'),
    "validity in the past": (
        ("portal", "staff-record"),
        lambda w: {"valid_until": YESTERDAY},
        "De einddatum ligt in het verleden.",
        f'value="{YESTERDAY}"'),
    "no date at all": (
        ("portal", "staff-record"),
        lambda w: {"valid_until": "31-02-2027"},
        "Vul een geldige datum in (dd-mm-jjjj).",
        'value="31-02-2027"'),
    "recipient outside the region": (
        ("portal", "staff-record", "staff-ask"),
        lambda w: {"recipient_id": w["far_gemeente"].id},
        "Deze organisatie hoort niet bij de regio van de leerling. Kies een organisatie uit de eigen regio.",
        # the choice list offers the own region only, so the kept input is the rest of the form
        'value="opleiding" checked'),
    "recipient of a kind the purpose does not name": (
        ("portal", "staff-record", "staff-ask"),
        lambda w: {"recipient_id": w["employer"].id, "purpose_code": "uitkering-en-regelzaken"},
        "Bakkerij Van Dalen is een werkgever. Voor 'Uitkering en regelzaken' mag alleen een gemeente, UWV of MEE "
        "gegevens krijgen.",
        'value="opleiding" checked'),
    "representative for a 17-year-old": (
        ("staff-record",),
        lambda w: {"representative_name": "P. Jansen", "representative_relation": "ouder"},
        "De leerling is 17 jaar en geeft zelf toestemming.",
        'value="P. Jansen"'),
}

PARAMS = [pytest.param(form, case, id=f"{form}: {case}") for case, (forms, *_rest) in CASES.items()
          for form in forms]


def _saved(session) -> dict[str, int]:
    return {
        "consents": session.scalar(select(func.count(Consent.id))),
        "items": session.scalar(select(func.count()).select_from(ConsentItem)),
        "receipts": session.scalar(select(func.count()).select_from(ConsentReceipt)),
        "requests": session.scalar(select(func.count(ConsentRequest.id))),
        "mails": session.scalar(select(func.count(OutboxMessage.id))),
        "changes": session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.event_type.in_(["consent:grant", "consent:request"]))),
    }


@pytest.mark.parametrize(("form", "case"), PARAMS)
def test_bad_input_is_refused_in_dutch_with_the_input_kept_and_nothing_saved(client, session, world, form, case):
    who, page, post_url = FORMS[form]
    _forms, changes, message, kept = CASES[case]
    login(client, world[who])
    before = _saved(session)
    response = post_form(client, page(world), {**_base(world, form), **changes(world)}, post_url=post_url(world))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Controleer de volgende velden" in html  # the error summary, linking to the fields
    assert html.count(message) >= 2  # in the summary and at its field
    assert kept in html
    assert _saved(session) == before


def test_the_same_forms_accept_good_input(client, session, world):
    """The control: the bases above are valid, so each refusal comes from its one bad field."""
    login(client, world["mentor"])
    for form in ("staff-ask", "staff-record"):
        _who, page, post_url = FORMS[form]
        assert post_form(client, page(world), _base(world, form), post_url=post_url(world)).status_code == 302
    login(client, world["student_account"])
    data = {**_base(world, "portal"), "purpose_code": "stagebegeleiding"}
    assert post_form(client, PORTAL, data).status_code == 302
    assert session.scalar(select(func.count(Consent.id))) == 2
