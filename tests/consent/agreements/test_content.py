"""The sections as data (consent/agreements/content.py): a section's form becomes content
(stripped, dates as ISO, empty values and rows left out), bad input becomes Dutch errors keyed
like the form's inputs, content fills the form again, and two versions give a readable diff."""

from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.datastructures import MultiDict

from consent.agreements.content import (
    completeness,
    diff,
    find_section,
    flatten,
    missing_for_offer,
    review_moments,
    sections_for,
)
from consent.agreements.forms import form_values, load_section, row_count
from consent.agreements.models import AgreementKind

PLAN, PRIVACY = AgreementKind.plan, AgreementKind.privacy
CHOICES = {"parties": ["student", "org-1", "org-2"], "purposes": ["jobcoaching", "rmc-nazorg"],
           "categories": ["contactgegevens", "opleiding", "school-naar-werk-plan"]}


@pytest.fixture(autouse=True)
def _context(app):
    with app.test_request_context():
        yield


def test_a_section_form_becomes_content():
    section = find_section(PLAN, "internship")
    content, errors = load_section(section, MultiDict({
        "company": "  Bakkerij Ørsted ", "role": "", "start": "2027-02-01", "end": "", "goal_1": "Deeg kneden",
        "csrf_token": "x", "unknown": "dropped"}), CHOICES)
    assert errors == {}
    assert content == {"company": "Bakkerij Ørsted", "start": "2027-02-01", "goal_1": "Deeg kneden"}


def test_bad_input_gives_dutch_errors_keyed_like_the_inputs():
    section = find_section(PLAN, "internship")
    content, errors = load_section(section, MultiDict({"start": "2027-13-01", "company": "x" * 201}), CHOICES)
    assert content is None
    assert errors == {"start": ["Vul een geldige datum in (dd-mm-jjjj)."],
                      "company": ["Houd dit korter dan 200 tekens."]}
    long_text, errors = load_section(find_section(PLAN, "future"), MultiDict({"goal": "x" * 4001}), CHOICES)
    assert long_text is None and errors == {"goal": ["Houd dit korter dan 4000 tekens."]}


def test_empty_rows_are_dropped_and_row_errors_name_the_row_as_the_form_did():
    section = find_section(PLAN, "skills")
    content, errors = load_section(section, MultiDict({
        "skills-0-skill": "Op tijd komen", "skills-0-kind": "werknemer", "skills-0-score": "G",
        "skills-1-skill": "", "skills-1-score": "",
        "skills-2-skill": "Heftruck", "skills-2-kind": "beroep", "skills-2-score": "O", "skills-2-note": " cursus "}),
        CHOICES)
    assert errors == {}
    assert content == {"skills": [{"skill": "Op tijd komen", "kind": "werknemer", "score": "G"},
                                  {"skill": "Heftruck", "kind": "beroep", "score": "O", "note": "cursus"}]}
    # an error in the third row of the form, after an empty one, is the third row's error
    content, errors = load_section(section, MultiDict({
        "skills-0-skill": "Lezen", "skills-2-skill": "Rekenen", "skills-2-score": "X"}), CHOICES)
    assert content is None and errors == {"skills-2-score": ["Kies uit de lijst."]}
    content, errors = load_section(section, MultiDict({"skills-1-skill": "Rekenen", "skills-1-kind": "hobby"}),
                                   CHOICES)
    assert errors == {"skills-1-kind": ["Kies uit de lijst."]}


def test_choices_come_from_the_caller_and_checkboxes_are_lists():
    section = find_section(PRIVACY, "flows")
    form = MultiDict([("flows-0-recipient", "org-2"), ("flows-0-purpose", "jobcoaching"),
                      ("flows-0-categories", "opleiding"), ("flows-0-categories", "contactgegevens"),
                      ("flows-0-basis", "toestemming")])
    content, errors = load_section(section, form, CHOICES)
    assert errors == {}
    assert content == {"flows": [{"recipient": "org-2", "purpose": "jobcoaching", "basis": "toestemming",
                                  "categories": ["contactgegevens", "opleiding"]}]}
    form.add("flows-0-categories", "bsn")
    form["flows-0-recipient"] = "org-99"
    content, errors = load_section(section, form, CHOICES)
    assert content is None
    assert errors == {"flows-0-recipient": ["Kies uit de lijst."], "flows-0-categories": ["Kies uit de lijst."]}


def test_too_many_rows_are_refused():
    section = find_section(PLAN, "people")
    form = MultiDict({f"people-{i}-name": f"Persoon {i}" for i in range(31)})
    content, errors = load_section(section, form, CHOICES)
    assert content is None and errors == {"people": ["Hoogstens 30 regels."]}


def test_content_fills_the_form_again():
    for kind in (PLAN, PRIVACY):
        for section in sections_for(kind):
            form = MultiDict()
            for item in section.fields:
                form.add(item.code, _sample(item))
            for rows in section.rows:
                for index in (0, 1):
                    for col in rows.columns:
                        form.add(f"{rows.code}-{index}-{col.code}", _sample(col))
            content, errors = load_section(section, form, CHOICES)
            assert errors == {}, (section.code, errors)
            again, errors = load_section(section, _as_form(form_values(section, content)), CHOICES)
            assert (again, errors) == (content, {}), section.code


def _sample(item):
    if item.kind == "date":
        return "2027-03-01"
    if item.kind in ("choice", "checks"):
        return (item.choices[0][0] if item.choices else CHOICES[item.source][0])
    return f"{item.code} ë"


def _as_form(values: dict) -> MultiDict:
    form = MultiDict()
    for key, value in values.items():
        for one in (value if isinstance(value, list) else [value]):
            form.add(key, one)
    return form


def test_row_count_shows_filled_rows_plus_blank_ones():
    rows = find_section(PLAN, "people").rows[0]
    assert row_count(rows, {}) == 2
    assert row_count(rows, {"people-0-name": "a", "people-4-name": "b"}) == 7
    assert row_count(rows, {"people-29-name": "a"}) == 30


def test_what_must_be_filled_in_before_offering():
    missing = [(s.code, i.code) for s, i in missing_for_offer(PLAN, {})]
    assert missing == [("checks", "contact_person"), ("checks", "fallback"), ("checks", "who_decides"),
                       ("checks", "objection")]
    assert [(s.code, i.code) for s, i in missing_for_offer(PLAN, {"checks": {
        "contact_person": "x", "fallback": "y", "who_decides": "z", "objection": "w"}})] == []
    assert [(s.code, i.code) for s, i in missing_for_offer(PRIVACY, {})] == [
        ("purposes", "purposes"), ("flows", "flows"), ("retention", "retention")]


def test_the_diff_names_what_changed_in_words():
    old = {"future": {"goal": "Magazijn"}, "skills": {"skills": [{"skill": "Rekenen", "score": "V"}]}}
    new = {"future": {"goal": "Zorg"}, "skills": {"skills": [{"skill": "Rekenen", "score": "G"}]},
           "sharing": {"shared_with": "De jobcoach"}}
    parties = [{"key": "student", "name": "Sanne", "role": "leerling", "commitment": "Ik kom op tijd"}]
    changed = [{**parties[0], "commitment": "Ik kom altijd op tijd"},
               {"key": "org-2", "name": "Gemeente", "role": "jobcoach", "commitment": "Wij begeleiden"}]
    changes = diff(PLAN, old, new, parties, changed)
    readable = [(str(c.section), str(c.label), c.old, c.new) for c in changes]
    assert readable == [
        ("Toekomstbeeld", "Wat is jouw doel?", "Magazijn", "Zorg"),
        ("Vaardigheden", "Werknemers- en beroepsvaardigheden 1", "Vaardigheid: Rekenen; Score: Voldoende",
         "Vaardigheid: Rekenen; Score: Goed"),
        ("Delen", "Met wie wordt dit plan gedeeld?", None, "De jobcoach"),
        ("Partijen en toezeggingen", "Sanne", "Sanne (leerling); toezegging: Ik kom op tijd",
         "Sanne (leerling); toezegging: Ik kom altijd op tijd"),
        ("Partijen en toezeggingen", "Gemeente", None, "Gemeente (jobcoach); toezegging: Wij begeleiden"),
    ]
    assert diff(PLAN, old, old, parties, parties) == []


def test_flatten_uses_labels_for_codes():
    content = {"flows": {"flows": [{"recipient": "org-2", "categories": ["opleiding"], "basis": "toestemming"}]}}
    lines = flatten(PRIVACY, content, {"parties": {"org-2": "Gemeente Waalstede"},
                                       "categories": {"opleiding": "Opleiding en voortgang"}})
    [(key, _section, _label, text)] = lines
    assert key == "flows.flows.0"
    assert "Ontvanger: Gemeente Waalstede" in text and "Gegevens: Opleiding en voortgang" in text
    assert "Grondslag: Toestemming van de leerling" in text


def test_review_moments_and_completeness():
    content = {"checks": {"moments": [{"date": "2027-03-01", "what": "Eindstage"}, {"date": "morgen"},
                                      {"what": "zonder datum"}]}, "future": {"goal": "x"}}
    assert review_moments(content) == [(dt.date(2027, 3, 1), "Eindstage")]
    result = completeness(PLAN, content)
    assert result.filled == ["future", "checks"]
    assert len(result.empty) == len(sections_for(PLAN)) - 2
