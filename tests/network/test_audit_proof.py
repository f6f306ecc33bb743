"""Checkpoints that leave the database, and proofs a student can hold (issue 18, item 1): the
RFC 9162 Merkle tree against a reference written here from the RFC, the README's stand-alone
proof checker run as a reader runs it, the student's download, the public list of checkpoints,
the ``audit.checkpoint`` webhook and the operator's checkpoint file, each usable as a witness.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess  # nosec B404 # the README's script, run as a reader runs it
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from network.audit import AuditAction, AuditEvent, record
from network.audit_chain import AuditChainHead, AuditCheckpoint, checkpoint_json, seal_all
from network.audit_merkle import audit_path, root, root_from_path
from network.audit_proof import inclusion_proof
from network.audit_publish import publisher
from network.audit_verify import verify
from network.audit_witness import load_witness
from network.models import OutboxMessage, Role
from network.oauth import client_principal
from network.permissions import system_principal
from network.tags import StudentTag
from network.webhook_delivery import UrlPolicy
from network.webhook_subscriptions import create_subscription
from tests.conftest import extra_app, test_config
from tests.factories import OrganisationFactory, StudentFactory, login, make_api_client, make_member

README = Path(__file__).resolve().parents[2] / "README.md"


# -- the Merkle tree, against RFC 9162 section 2.1.1 written out ------------------------------

def _reference_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_mth(leaves[:k]) + _reference_mth(leaves[k:])).digest()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=70), st.data())
def test_root_and_paths_follow_rfc_9162(n, data):
    leaves = [hashlib.sha256(b"\x00" + str(i).encode()).digest() for i in range(n)]
    assert root(leaves) == _reference_mth(leaves)
    if n:
        index = data.draw(st.integers(min_value=0, max_value=n - 1))
        path = audit_path(index, leaves)
        assert root_from_path(index, n, leaves[index], path) == root(leaves)
        assert root_from_path(index, n, hashlib.sha256(b"anders").digest(), path) != root(leaves)
        assert root_from_path(n, n, leaves[index], path) is None


# -- proofs --------------------------------------------------------------------------------------

def _write(session, n, student_id="stu-1", **fields):
    events = [record(session, system_principal(), action=AuditAction.read, event_type=StudentTag.view,
                     object_type="student", object_id=student_id, student_id=student_id,
                     purpose="jobcoaching", basis="consent:7") for _ in range(n)]
    for event in events:  # what a request records of its reader
        for name, value in fields.items():
            setattr(event, name, value)
    session.commit()
    return events


def readme_checker() -> str:
    section = README.read_text(encoding="utf-8").split("#### Proving an event", 1)[1].split("\n### ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's 'Proving an event' has no Python script"
    return match.group(1)


def _check(tmp_path, proof, witness=None) -> subprocess.CompletedProcess:
    script = tmp_path / "check_proof.py"
    script.write_text(readme_checker())
    proof_file = tmp_path / "bewijs.json"
    proof_file.write_text(json.dumps(proof, ensure_ascii=False))
    args = [sys.executable, str(script), str(proof_file)] + ([str(witness)] if witness else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)  # nosec B603


def test_the_readme_script_checks_a_proof_and_refuses_a_changed_one(session, keyring, tmp_path):
    _write(session, 6, student_id="andere-leerling")
    events = _write(session, 5, source_ip="10.1.2.3", user_agent="Firefox")
    seal_all(lambda: session, keyring)
    proof = inclusion_proof(session, keyring, events[2].id)
    assert proof["treeSize"] == 11 and proof["leafIndex"] == 8 and len(proof["auditPath"]) == 3
    assert "10.1.2.3" not in json.dumps(proof) and "Firefox" not in json.dumps(proof)  # withheld, keyed
    checked = _check(tmp_path, proof)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"OK: event seq 9 ({proof['leaf']['occurred_at']}")

    for change in ({"leaf": {**proof["leaf"], "organisation_name": "Iemand anders"}},
                   {"leafIndex": 7},
                   {"auditPath": proof["auditPath"][:-1]},
                   {"checkpoint": {**proof["checkpoint"], "rootHash": "ab" * 32}}):
        refused = _check(tmp_path, {**proof, **change})
        assert refused.returncode == 1 and refused.stderr.startswith("NOT OK"), change


def test_the_readme_script_compares_the_checkpoint_with_a_witness(session, keyring, tmp_path):
    events = _write(session, 3)
    seal_all(lambda: session, keyring)
    proof = inclusion_proof(session, keyring, events[0].id)
    page = tmp_path / "checkpoints.json"
    published = [checkpoint_json(cp) for cp in session.scalars(select(AuditCheckpoint))]
    page.write_text(json.dumps({"checkpoints": published}))
    assert _check(tmp_path, proof, page).returncode == 0
    page.write_text(json.dumps({"checkpoints": []}))
    refused = _check(tmp_path, proof, page)
    assert refused.returncode == 1 and "the witness never saw this checkpoint" in refused.stderr


def test_no_proof_before_the_event_is_sealed(session, keyring):
    event = _write(session, 1)[0]
    assert inclusion_proof(session, keyring, event.id) is None
    assert inclusion_proof(session, keyring, 10**9) is None


def _student_world(session):
    school = OrganisationFactory(school=True)
    account = make_member(Role.student, school)
    student = StudentFactory(school=school, account_id=account.id)
    other = StudentFactory(school=school)
    gemeente = OrganisationFactory(region=school.region)
    jobcoach = make_member(Role.partner_staff, gemeente)
    return account, student, other, jobcoach


def test_a_student_downloads_the_proof_of_a_line_of_their_access_log(client, session, keyring, tmp_path):
    account, student, other, jobcoach = _student_world(session)
    mine = record(session, system_principal(), action=AuditAction.read, event_type=StudentTag.view,
                  object_type="student", object_id=str(student.id), student_id=str(student.id))
    theirs = record(session, system_principal(), action=AuditAction.read, event_type=StudentTag.view,
                    object_type="student", object_id=str(other.id), student_id=str(other.id))
    session.commit()
    login(client, account)

    waiting = client.get(f"/mijn-gegevens/inzage/{mine.id}/bewijs")
    assert waiting.status_code == 200 and "Het bewijs is nog niet klaar" in waiting.get_data(as_text=True)
    seal_all(lambda: session, keyring)
    page = client.get("/mijn-gegevens/inzage").get_data(as_text=True)
    assert f"/mijn-gegevens/inzage/{mine.id}/bewijs" in page and "Download bewijs" in page
    download = client.get(f"/mijn-gegevens/inzage/{mine.id}/bewijs")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    checked = _check(tmp_path, download.get_json())
    assert checked.returncode == 0, checked.stderr

    assert client.get(f"/mijn-gegevens/inzage/{theirs.id}/bewijs").status_code == 404  # another student's line
    assert client.get("/mijn-gegevens/inzage/999999999/bewijs").status_code == 404
    login(client, jobcoach)
    assert client.get(f"/mijn-gegevens/inzage/{mine.id}/bewijs").status_code == 404  # only the student (or parent)
    session.expire_all()
    downloads = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:access-proof")).all()
    assert len(downloads) == 2 and {e.student_id for e in downloads} == {str(student.id)}


# -- published checkpoints -------------------------------------------------------------------------

def test_the_public_list_pages_newest_first(client, session, keyring):
    for _ in range(5):
        _write(session, 2)
        seal_all(lambda: session, keyring)
    first = client.get("/.well-known/audit-checkpoints?limit=2")
    assert first.status_code == 200 and first.headers["Access-Control-Allow-Origin"] == "*"
    body = first.get_json()
    assert [c["seq"] for c in body["checkpoints"]] == [10, 8] and body["jwks"] == "/.well-known/jwks.json"
    second = client.get(body["next"]).get_json()
    third = client.get(second["next"]).get_json()
    assert [c["seq"] for c in second["checkpoints"] + third["checkpoints"]] == [6, 4, 2] and third["next"] is None
    newest = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == 10))
    assert body["checkpoints"][0] == checkpoint_json(newest)


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=veel", "before=-1", "before=x",
                                   "before=99999999999999999999"])
def test_the_public_list_refuses_bad_paging_with_a_problem(client, query):
    response = client.get(f"/.well-known/audit-checkpoints?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]


def test_a_witness_fetching_the_public_list_catches_a_rewrite(app, session, keyring, monkeypatch):
    """verify --witness URL reads every page; served here by the test client instead of a socket."""
    for _ in range(3):
        _write(session, 2)
        seal_all(lambda: session, keyring)
    client = app.test_client()
    pages = {}
    url = "https://schakel.example/.well-known/audit-checkpoints?limit=2"
    while url:
        pages[url] = client.get(url.removeprefix("https://schakel.example")).get_data()
        following = json.loads(pages[url])["next"]
        url = f"https://schakel.example{following}" if following else None

    class Response:
        def __init__(self, body):
            self.body = body

        def read(self):
            return self.body

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Response(pages[url]))
    kept = load_witness("https://schakel.example/.well-known/audit-checkpoints?limit=2", keyring)
    assert [w.seq for w in kept] == [6, 4, 2]
    session.execute(text("DELETE FROM audit_event WHERE seq > 4"))
    session.execute(text("DELETE FROM audit_checkpoint WHERE seq > 4"))
    session.execute(text("UPDATE audit_chain_head SET last_seq = 4, last_hash = "
                         "(SELECT head_hash FROM audit_checkpoint WHERE seq = 4)"))
    session.commit()
    assert verify(session, keyring).ok
    report = verify(session, keyring, witnesses=kept)
    assert not report.ok and "seq 6" in report.problem and "cut short" in report.problem


def test_the_webhook_carries_the_whole_checkpoint_and_serves_as_a_witness(session, keyring, tmp_path):
    partner = OrganisationFactory()
    api_client, _secret = make_api_client(partner, ["webhooks:manage"])
    session.commit()
    create_subscription(session, client_principal(api_client, api_client.scope), keyring,
                        UrlPolicy(allow_http=True, allow_private=True), url="http://127.0.0.1:9/hook",
                        event_types=["audit.checkpoint"])
    session.commit()
    _write(session, 3)
    seal_all(lambda: session, keyring)
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all()
    assert len(messages) == 1
    sent = keyring.decrypt(messages[0].body_encrypted, messages[0].body_ref())
    body = json.loads(sent)
    assert body["type"] == "audit.checkpoint"
    assert body["data"] == checkpoint_json(session.scalar(select(AuditCheckpoint)))
    kept = tmp_path / "webhooks.jsonl"
    kept.write_text(sent + "\n")
    assert verify(session, keyring, witnesses=load_witness(str(kept), keyring)).ok


def test_the_operator_file_gets_each_checkpoint_and_verify_uses_it(app, app_tmp, tmp_path):
    stream = tmp_path / "checkpoints.jsonl"
    with extra_app(test_config(app_tmp, SECRETS=app.config["SECRETS"], AUDIT_CHECKPOINT_FILE=str(stream))) as other:
        with other.app_context():
            from network.db import db

            _write(db.session, 4)
            runner = other.test_cli_runner()
            assert runner.invoke(args=["audit", "seal"]).output == "sealed 4 events\n"
            _write(db.session, 2)
            runner.invoke(args=["audit", "seal"])
            lines = [json.loads(line) for line in stream.read_text().splitlines()]
            assert [line["seq"] for line in lines] == [4, 6]
            ok = runner.invoke(args=["audit", "verify"])
            assert ok.exit_code == 0 and "2 witnessed checkpoints from 1 witnesses" in ok.output

            db.session.execute(text("DELETE FROM audit_event WHERE seq > 4"))
            db.session.execute(text("DELETE FROM audit_checkpoint WHERE seq > 4"))
            db.session.execute(text("UPDATE audit_chain_head SET last_seq = 4, last_hash = "
                                    "(SELECT head_hash FROM audit_checkpoint WHERE seq = 4)"))
            db.session.commit()
            cut = runner.invoke(args=["audit", "verify"])
            assert cut.exit_code == 1 and "AUDIT LOG BROKEN" in cut.output and "cut short" in cut.output

            stream.write_text("{kapot\n")
            damaged = runner.invoke(args=["audit", "verify"])
            assert damaged.exit_code == 2 and "WITNESS UNUSABLE" in damaged.output and "line 1" in damaged.output
            db.session.remove()


def test_a_checkpoint_file_that_cannot_be_written_fails_the_run_but_keeps_the_seal(session, keyring, tmp_path):
    """The checkpoint is committed first (and on the public list); the failed write is loud."""
    _write(session, 2)
    publish = publisher({"AUDIT_CHECKPOINT_FILE": str(tmp_path / "bestaat-niet" / "checkpoints.jsonl")})
    with pytest.raises(OSError):
        seal_all(lambda: session, keyring, publish=publish)
    session.expire_all()
    assert session.get(AuditChainHead, 1).last_seq == 2 and verify(session, keyring).ok


def test_a_line_number_beyond_any_database_integer_is_bad_input_not_a_crash(client, session):
    """SQLite will not bind it (OverflowError), PostgreSQL refuses it (22003): both a 400."""
    account, _student, _other, _jobcoach = _student_world(session)
    login(client, account)
    response = client.get("/mijn-gegevens/inzage/99999999999999999999/bewijs")
    assert response.status_code == 400 and "te groot" in response.get_data(as_text=True)
