"""Print, PDF and bundle of a version: the print page and the PDF show the content, parties,
signers, the hash, the verification code and a QR code to the public page; the bundle verifies
with only the published keys. Each is an audited export through the access decision."""

from __future__ import annotations

import io
import json

import pypdf
from sqlalchemy import select

from consent.agreements.access import find_agreement
from consent.agreements.documents import verify_bundle
from consent.agreements.pdf import pdf_text, qr_svg_data_uri
from consent.agreements.service import save_section
from network.audit import AuditAction, AuditEvent, AuditOutcome
from network.db import db
from network.keys import published_jwks
from tests.consent.agreements._pages import offered_plan, sign_url, version_row
from tests.consent.agreements._signed import offer, party_keys, sign, signed_plan
from tests.consent.agreements.conftest import give_plan_consent, ready_plan
from tests.factories import login


def _url(agreement_id, what, number=1):
    return sign_url(agreement_id, number, action=what)


def _exports(event_type):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)).all()


def _code(agreement_id):
    from consent.agreements.models import Agreement

    db.session.expire_all()
    return db.session.get(Agreement, agreement_id).verify_code


def test_the_print_page_shows_hash_code_and_a_qr_code(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    login(client, world["student_account"])
    response = client.get(_url(agreement_id, "afdruk"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    version, code = version_row(session, agreement_id), _code(agreement_id)
    assert version.content_hash in html and code in html
    assert f"http://127.0.0.1:5000/controle/{code}" in html  # BASE_URL, not the request's host
    assert 'src="data:image/svg+xml' in html and 'alt="QR-code naar de controlepagina' in html
    assert "Magazijnmedewerker" in html and world["student"].full_name in html
    for signer in (world["student_account"], world["mentor"], world["partner"]):
        assert signer.name in html
    assert "css/agreements-print.css" in html and " style=" not in html and "<script" not in html
    [event] = _exports("agreement:print")
    assert event.action is AuditAction.export and event.outcome is AuditOutcome.success
    assert event.student_id == str(world["student"].id)


def test_the_qr_code_encodes_the_verification_url():
    uri = qr_svg_data_uri("https://schakel.example/controle/ABCDEFGHJK")
    assert uri.startswith("data:image/svg+xml") and "svg" in uri


def test_the_pdf_parses_and_holds_hash_code_and_qr_image(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    login(client, world["mentor"])
    response = client.get(_url(agreement_id, "pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    version, code = version_row(session, agreement_id), _code(agreement_id)
    assert version.content_hash in text.replace("\n", "") and code in text
    assert "Magazijnmedewerker" in text and world["mentor"].name in text
    assert sum(len(page.images) for page in reader.pages) >= 1  # the QR code
    [event] = _exports("agreement:pdf")
    assert event.action is AuditAction.export and event.account_id == world["mentor"].id


def test_the_pdf_never_fails_on_unicode(client, session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    mentor = actors["mentor"]
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "future", {
        "goal": "Werken in Łódź – “logistiek” 😀 日本語 \u200b Zoë", "occupation": "Kok\u0007"})
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    offer(session, keyring, mentor, agreement.id)
    login(client, world["mentor"])
    response = client.get(_url(agreement.id, "pdf"))
    assert response.status_code == 200
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    assert "Lódz" in text and '"logistiek"' in text and "Zoë" in text
    assert "Łódź" in client.get(_url(agreement.id, "afdruk")).get_data(as_text=True)  # HTML keeps it all


def test_pdf_text_folds_to_latin1():
    assert pdf_text("Zoë – Łódź “x” 😀 ﬁ\tA\x07") == 'Zoë - Lódz "x" ? fi    A'
    assert pdf_text(None) == "" and pdf_text("a\nb") == "a\nb"
    pdf_text("".join(chr(c) for c in range(0, 0x3000))).encode("latin-1")  # every result is latin-1


def test_the_bundle_verifies_with_only_the_published_keys(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    login(client, world["partner"])
    response = client.get(_url(agreement_id, "bundel"))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    bundle = json.loads(response.data)
    code = _code(agreement_id)
    assert bundle["jwks"] == "http://127.0.0.1:5000/.well-known/jwks.json"
    assert bundle["verify"] == f"http://127.0.0.1:5000/controle/{code}"
    jwks = client.get("/.well-known/jwks.json").get_json()
    report = verify_bundle(bundle, jwks)
    assert report.complete and len(report.signatures) == 3
    assert report.hash == version_row(session, agreement_id).content_hash
    bundle["document"]["content"]["future"]["goal"] = "Iets anders"
    assert not verify_bundle(bundle, published_jwks(session, keyring)).ok
    [event] = _exports("agreement:bundle")
    assert event.action is AuditAction.export


def test_a_draft_has_no_bundle_but_can_be_printed(client, session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors)
    login(client, world["mentor"])
    assert client.get(_url(agreement.id, "bundel")).status_code == 409
    assert _exports("agreement:bundle") == []
    html = client.get(_url(agreement.id, "afdruk")).get_data(as_text=True)
    assert "nog niet aangeboden" in html


def test_exports_follow_the_decision_and_the_walls(client, session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])  # no consent for the gemeente
    offer(session, keyring, actors["mentor"], agreement.id)
    login(client, world["partner"])
    for what in ("afdruk", "pdf", "bundel"):
        assert client.get(_url(agreement.id, what)).status_code == 403
    denied = [e for e in _exports("agreement:print") + _exports("agreement:pdf") + _exports("agreement:bundle")
              if e.outcome is AuditOutcome.denied]
    assert len(denied) == 3
    login(client, world["rmc_staff"])  # not a party
    for what in ("afdruk", "pdf", "bundel"):
        assert client.get(_url(agreement.id, what)).status_code == 404
    login(client, world["mentor"])
    assert client.get(_url(agreement.id, "pdf", number=7)).status_code == 404  # no such version


def test_a_version_in_progress_prints_who_signed_so_far(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    sign(session, keyring, actors["student_account"], agreement_id, 1, party_keys(world)["student"])
    login(client, world["mentor"])
    html = client.get(_url(agreement_id, "afdruk")).get_data(as_text=True)
    assert "Ter ondertekening" in html and world["student_account"].name in html
    assert world["partner"].name not in html
