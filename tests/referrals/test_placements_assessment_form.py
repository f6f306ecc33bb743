"""The assessment form against the seed: every group, item, scale and "meer aandacht" item of
seed 001, Bijlage 5.4 "Beoordelingsformulier werkontwikkeling" has its place in
referrals.placements.assessment_form, in the seed's words, and the form has nothing the seed
does not. The appendix is kept verbatim in tests/referrals/data (the seed's PDF text: words
separated by tabs and line breaks, which are normalised here)."""

from __future__ import annotations

import re
from pathlib import Path

from referrals.placements import assessment_form as form

SEED = Path(__file__).parent / "data" / "seed_001_bijlage_5_4.txt"


def _norm(text: str) -> str:
    return " ".join(text.split()).replace("- ", "-").replace("/ ", "/")


def _seed() -> str:
    # the PDF breaks "informatie-\nbemiddeling" and "dossier\nbeheer": joined as the words are
    return _norm(SEED.read_text(encoding="utf-8"))


def test_every_item_of_the_form_is_in_the_seed_as_written():
    seed = _seed()
    for group in form.GROUPS:
        assert f"{group.number}. {group.title}" in seed, group.title
        for item in group.items:
            assert f"{item.letter} {_norm(item.text)}" in seed, item.key


def test_every_item_of_the_seed_has_its_place():
    seed = _seed()
    headers = list(re.finditer(r"(\d)\. ([A-Z][^.]*?) Laat competentie", seed))
    assert [int(m.group(1)) for m in headers] == [1, 2, 3, 4, 5, 6]
    assert [m.group(2) for m in headers] == [g.title for g in form.GROUPS]
    ends = [m.start() for m in headers[1:]] + [seed.index("Ruimte voor suggesties")]
    for header, end, group in zip(headers, ends, form.GROUPS, strict=True):
        section = seed[header.end():end]
        letters = re.findall(r"(?:^| )([a-j]) (?:Hij|Als hij) ", section)
        assert letters == [item.letter for item in group.items], group.title


def test_the_scales_and_the_closing_items_are_the_seeds():
    seed = _seed()
    for _code, label in form.TASK_SCALE[:3]:
        assert _norm(str(label)).replace("Kan de taak ", "") in seed.replace("Kan de taak ", "")
    for _code, label in form.COMPETENCE_SCALE[:3]:
        assert str(label).split(" ")[-1] in seed
    assert "niet uitvoeren" in seed and "onder begeleiding" in seed and "zelfstandig uitvoeren" in seed
    assert "Laat competentie niet zien" in seed and "Laat competentie zien na aansturing" in seed
    assert "Laat competentie zien op eigen initiatief" in seed
    assert form.ATTENTION_INTRO in seed
    for _key, text in form.ATTENTION:
        assert _norm(text) in seed, text
    assert seed.count("(bv.") + seed.count("(Wat moet ik") == len(form.ATTENTION)
    for _key, label in form.HEADER:
        assert str(label) in seed
    for question in (form.HIRE_QUESTION, form.DEVELOP_QUESTION, form.IF_NOT_QUESTION, form.IF_SO_QUESTION):
        assert _norm(str(question)) in seed, question
    assert {code for code, _l in form.TASK_SCALE} == form.TASK_VALUES
    assert len(form.ITEMS) == sum(len(g.items) for g in form.GROUPS) == 26
