"""Faults of the running server (issue 8, reliability), against the hub served by gunicorn as
in production (tests/reliability/served.py), on a database of its own:

- kill -9 of a worker, and then of the whole server, in the middle of a stream of writes
  through the API (a gemeente's system accepting referrals and signing plans with its own key,
  a school's system recording consent withdrawals): after a restart every acknowledged write
  is there, no write is half there (a status without its event, a withdrawal without its
  receipt or audit event, a signature without the version it completes, or the reverse), and
  ``schakel audit verify`` passes;
- PostgreSQL gone under load (a TCP proxy in front of it is cut, as a restart or a network
  failure does): requests fail cleanly with 503 problem+json while it is gone, none hangs, and
  the hub recovers by itself once the database is back (pool pre-ping).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from consent.agreements.models import VersionStatus
from consent.models import ConsentStatus
from network.db import db
from referrals.models import Referral, ReferralEvent
from referrals.states import ReferralStatus
from tests.conftest import TEST_DATABASE_URL, extra_app, test_config
from tests.factories import make_api_client, principal_for
from tests.referrals.conftest import build_rworld, draft_data
from tests.reliability.served import Hub, environment, own_database, schakel

REFERRALS = 90
OTHERS = 30  # consents to withdraw, and plans for the gemeente to sign, in the mixed stream


def _seed(url: str, tmp, secret_values, count: int, others: int = 0) -> dict:
    """The referral world with ``count`` referrals sent to the gemeente; with ``others``, as many
    students whose consent the school will withdraw, and as many plans offered to the gemeente
    for signature with its own organisation key."""
    from referrals import wizard_service as ws

    with extra_app(test_config(tmp, SQLALCHEMY_DATABASE_URI=url, SECRETS=secret_values)) as app, app.app_context():
        keyring = app.extensions["schakel.keyring"]
        world = build_rworld(db.session, keyring)
        mentor = principal_for(world["mentor"])
        referrals = []
        for _ in range(count):
            referral = ws.save_draft(db.session, mentor, keyring, world["student"], draft_data(world))
            ws.send_referral(db.session, mentor, keyring, referral)
            referrals.append(referral)
        api_client, secret = make_api_client(world["gemeente"], ["referrals:read", "referrals:write",
                                                                 "agreements:read", "agreements:sign"])
        seeded = {"referrals": [(r.id, r.version) for r in referrals], "client_id": api_client.client_id,
                  "secret": secret}
        if others:
            seeded.update(_seed_consents_and_plans(world, mentor, keyring, others))
        db.session.commit()
        return seeded


def _seed_consents_and_plans(world, mentor, keyring, others: int) -> dict:
    from consent.agreements.access import find_agreement
    from consent.agreements.lifecycle import offer_for_signature
    from consent.agreements.models import AgreementKind, SigningOrder
    from consent.agreements.service import create_agreement, save_parties, save_section
    from consent.service import grant_consent
    from network.keys import register_organisation_key
    from network.models import OrganisationType, Role
    from tests.consent.agreements._pages import OrgKey
    from tests.consent.agreements._signed import sign
    from tests.consent.agreements.conftest import CHECKS, party_rows
    from tests.factories import OrganisationFactory, StudentFactory, make_member
    from tests.referrals.conftest import born_years_ago

    school, gemeente, session = world["school"], world["gemeente"], db.session
    consents, plans = [], []
    for i in range(others):
        account = make_member(Role.student, school, name=f"Leerling {i}")
        student = StudentFactory(school=school, date_of_birth=born_years_ago(17), first_name=f"Leerling{i}",
                                 account_id=account.id)
        consents.append(grant_consent(session, mentor, keyring, student, {  # the one the school withdraws
            "recipient_id": gemeente.id, "purpose_code": "stagebegeleiding", "channel": "in_person",
            "categories": ["contactgegevens", "opleiding"]}))
        grant_consent(session, mentor, keyring, student, {  # the gemeente reads (and signs) the plan
            "recipient_id": gemeente.id, "purpose_code": "jobcoaching", "channel": "in_person",
            "categories": ["contactgegevens", "school-naar-werk-plan"]})
        agreement = create_agreement(session, mentor, keyring, student, AgreementKind.plan)
        session.commit()
        agreement, access = find_agreement(session, mentor, agreement.id)
        save_section(session, mentor, keyring, agreement, access, "future",
                     {"goal": "Werken in de logistiek", "occupation": "Magazijnmedewerker"})
        save_section(session, mentor, keyring, agreement, access, "checks", dict(CHECKS))
        save_parties(session, mentor, keyring, agreement, access, party_rows(agreement, gemeente))
        party = f"org-{gemeente.id}"
        version = offer_for_signature(session, mentor, keyring, agreement, access, signers=["student", party],
                                      order=SigningOrder.parallel)
        session.commit()
        # the student has signed: the gemeente's signature completes the version and activates it
        sign(session, keyring, principal_for(account), agreement.id, version.number, "student")
        role = next(p.role for p in version.parties if p.key == party)
        plans.append({"agreement": str(agreement.id), "version_hash": version.content_hash, "party": party,
                      "role": role})
    key = OrgKey()
    admin = make_member(Role.hub_admin, OrganisationFactory(region=world["region"], type=OrganisationType.hub))
    kid = register_organisation_key(session, principal_for(admin), gemeente, public_key=key.pem).kid
    school_client, school_secret = make_api_client(school, ["consents:read", "consents:write"], name="Leerlingsysteem")
    session.commit()
    return {"consents": [c.id for c in consents], "students": [str(c.student_id) for c in consents],
            "gemeente_id": gemeente.id, "plans": plans, "org_key": key, "kid": kid,
            "organisation": gemeente.name, "school_client_id": school_client.client_id,
            "school_secret": school_secret}


def _state(url: str, tmp, secret_values) -> dict:
    from consent.agreements.models import AgreementEvent, AgreementSignature, AgreementVersion
    from consent.models import Consent, ConsentReceipt, ConsentStatus, ReceiptKind
    from network.audit import AuditEvent

    with extra_app(test_config(tmp, SQLALCHEMY_DATABASE_URI=url, SECRETS=secret_values)) as app, app.app_context():
        status = dict(db.session.execute(select(Referral.id, Referral.status)).all())
        accept_events = dict(db.session.execute(
            select(ReferralEvent.referral_id, func.count()).where(ReferralEvent.to_status == ReferralStatus.accepted)
            .group_by(ReferralEvent.referral_id)).all())
        answered = {rid for rid, at in db.session.execute(select(Referral.id, Referral.answered_at)) if at}
        withdrawn = {cid for cid, st in db.session.execute(select(Consent.id, Consent.status))
                     if st is ConsentStatus.withdrawn}
        withdraw_receipts = dict(db.session.execute(
            select(ConsentReceipt.consent_id, func.count()).where(ConsentReceipt.kind == ReceiptKind.withdraw)
            .group_by(ConsentReceipt.consent_id)).all())
        withdraw_events = dict(db.session.execute(
            select(AuditEvent.object_id, func.count()).where(AuditEvent.event_type == "consent:withdraw")
            .group_by(AuditEvent.object_id)).all())
        versions = {str(aid): st for aid, st in db.session.execute(
            select(AgreementVersion.agreement_id, AgreementVersion.status))}
        signatures = {str(aid): n for aid, n in db.session.execute(
            select(AgreementVersion.agreement_id, func.count()).join(
                AgreementSignature, AgreementSignature.version_id == AgreementVersion.id)
            .group_by(AgreementVersion.agreement_id))}
        activated = {str(aid): n for aid, n in db.session.execute(
            select(AgreementEvent.agreement_id, func.count()).where(AgreementEvent.kind == "activated")
            .group_by(AgreementEvent.agreement_id))}
        consents_of: dict[str, list] = {}
        for student_id, st in db.session.execute(select(Consent.student_id, Consent.status)):
            consents_of.setdefault(str(student_id), []).append(st)
        return {"consents_of": consents_of, "activated": activated, "status": status, "accept_events": accept_events,
                "answered": answered, "withdrawn": withdrawn,
                "withdraw_receipts": withdraw_receipts,
                "withdraw_events": {int(k): v for k, v in withdraw_events.items()},
                "versions": versions, "signatures": signatures}


def _served(tmp_path, others: int, referrals: int = REFERRALS):
    with own_database(tmp_path) as url:
        env, secret_values = environment(url, tmp_path)
        migrated = schakel(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        seeded = _seed(url, tmp_path, secret_values, referrals, others)
        hub = Hub(env, tmp_path / "gunicorn.log")
        try:
            yield {"url": url, "env": env, "secrets": secret_values, "tmp": tmp_path, "hub": hub, **seeded}
        finally:
            hub.stop()


@pytest.fixture
def served(tmp_path):
    yield from _served(tmp_path, 0)


@pytest.fixture
def served_mixed(tmp_path):
    yield from _served(tmp_path, OTHERS)


@pytest.fixture
def served_few(tmp_path):
    yield from _served(tmp_path, 6, referrals=1)


class Stream:
    """A partner's and a school's systems writing at once, six requests in flight: the gemeente
    accepts referrals and signs plans with its own key, the school records consent withdrawals.
    A write is *acknowledged* only when its whole success answer arrived."""

    def __init__(self, hub: Hub, served: dict):
        self.hub, self.served = hub, served
        self.acknowledged: dict[str, set] = {"referral": set(), "consent": set(), "plan": set()}
        self.failures: list = []
        self.log_in()

    def log_in(self) -> None:
        self.gemeente = {"Authorization": f"Bearer {self.hub.token(self.served['client_id'], self.served['secret'])}"}
        self.school = {"Authorization": "Bearer " + self.hub.token(self.served["school_client_id"],
                                                                    self.served["school_secret"])}

    def items(self, referrals, consents, plans) -> list[tuple[str, object]]:
        """The writes interleaved in proportion, so every stretch of the stream has each kind."""
        kinds = [[("referral", r) for r in referrals], [("consent", c) for c in consents], [("plan", p) for p in plans]]
        spread = [(i / len(kind), order, entry) for order, kind in enumerate(kinds) for i, entry in enumerate(kind)]
        return [entry for _, _, entry in sorted(spread, key=lambda s: s[:2])]

    def _request(self, kind: str, item) -> tuple[int, bytes, object]:
        if kind == "referral":
            rid, version = item
            status, _, body = self.hub.request(
                "POST", f"/api/v1/referrals/{rid}/transitions", body={"status": "accepted"},
                headers={**self.gemeente, "If-Match": f'W/"{version}"'}, timeout=20)
            return status, body, rid
        if kind == "consent":
            status, _, body = self.hub.request("POST", f"/api/v1/consents/{item}/withdrawal", body={},
                                               headers=self.school, timeout=20)
            return status, body, item
        return self._sign(item)

    def _sign(self, plan: dict) -> tuple[int, bytes, str]:
        from consent.agreements.documents import statement
        from consent.agreements.models import SignatureMethod

        signed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        stmt = statement(agreement_id=plan["agreement"], number=1, version_hash=plan["version_hash"],
                         party=plan["party"], role=plan["role"], signer_name="Jobcoach Bakker",
                         signer_organisation=self.served["organisation"], on_behalf_of=None, signed_at=signed_at,
                         method=SignatureMethod.organisation_key)
        body = {"party": plan["party"], "signer_name": "Jobcoach Bakker", "kid": self.served["kid"],
                "signed_at": signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "signature": self.served["org_key"].sign(stmt)}
        status, _, answer = self.hub.request("POST", f"/api/v1/agreements/{plan['agreement']}/versions/1/signatures",
                                             body=body, headers=self.gemeente, timeout=20)
        return status, answer, plan["agreement"]

    def write(self, items, acknowledged: dict[str, set] | None = None) -> None:
        acknowledged = self.acknowledged if acknowledged is None else acknowledged

        def one(entry):
            kind, item = entry
            try:
                status, body, key = self._request(kind, item)
            except (OSError, http.client.HTTPException) as exc:
                # the server died under this request (before the answer, or between its headers
                # and its body: IncompleteRead): not acknowledged, the client cannot count on it
                self.failures.append((kind, str(item)[:60], type(exc).__name__))
                return
            done = {"referral": lambda b: status == 200 and b["status"] == "accepted",
                    "consent": lambda b: status == 200 and b["status"] == "withdrawn",
                    "plan": lambda b: status == 201 and b["method"] == "organisation-key"}[kind]
            if done(json.loads(body)):
                acknowledged[kind].add(key)
            else:
                self.failures.append((kind, key, status, body[:200]))

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(one, items))


def _in_background(stream: Stream, items) -> threading.Thread:
    writer = threading.Thread(target=stream.write, args=(items,))
    writer.start()
    return writer


def test_kill_9_of_a_worker_and_of_the_server_loses_no_acknowledged_write(served_mixed):
    """Referral answers, consent withdrawals and plan signatures stream in through the API while
    first one gunicorn worker and then the whole server is killed with SIGKILL."""
    served = served_mixed
    hub: Hub = served["hub"].start()
    stream = Stream(hub, served)
    referrals, consents, plans = served["referrals"], served["consents"], served["plans"]
    items = stream.items(referrals, consents, plans)
    thirds = [items[:len(items) // 3], items[len(items) // 3:2 * len(items) // 3], items[2 * len(items) // 3:]]

    # 1. a worker is killed mid-stream; the master starts a new one, the others keep serving
    writer = _in_background(stream, thirds[0])
    time.sleep(0.3)
    killed = hub.kill_worker()
    writer.join(120)
    assert not writer.is_alive(), "a request hung after the worker was killed"
    deadline = time.time() + 30
    while (killed in hub.workers() or len(hub.workers()) < 2) and time.time() < deadline:
        time.sleep(0.2)
    assert killed not in hub.workers() and len(hub.workers()) == 2, "gunicorn did not replace the killed worker"
    stream.write(thirds[1])  # and it serves on

    # 2. the whole server is killed mid-stream
    writer = _in_background(stream, thirds[2])
    time.sleep(random.uniform(0.2, 0.5))
    hub.kill_all()
    writer.join(120)
    assert not writer.is_alive(), "a request hung after the server was killed"

    # 3. restart: every acknowledged write is there, nothing is half-written, the log verifies
    hub.start()
    state = _state(served["url"], served["tmp"], served["secrets"])
    acknowledged = stream.acknowledged
    assert all(acknowledged.values()), (acknowledged, stream.failures)
    lost = ([rid for rid in acknowledged["referral"] if state["status"][rid] is not ReferralStatus.accepted]
            + [cid for cid in acknowledged["consent"] if cid not in state["withdrawn"]]
            + [aid for aid in acknowledged["plan"] if state["versions"][aid] is not VersionStatus.active])
    assert not lost, f"acknowledged but not in the database: {lost}"
    for rid, _ in referrals:
        accepted = state["status"][rid] is ReferralStatus.accepted
        assert state["accept_events"].get(rid, 0) == (1 if accepted else 0), f"referral {rid}: half-written"
        assert (rid in state["answered"]) == accepted, f"referral {rid}: answered_at without the status"
    for cid in consents:
        withdrawn = cid in state["withdrawn"]
        assert state["withdraw_receipts"].get(cid, 0) == (1 if withdrawn else 0), f"consent {cid}: no receipt"
        assert state["withdraw_events"].get(cid, 0) == (1 if withdrawn else 0), f"consent {cid}: no audit event"
    for plan in plans:
        aid = plan["agreement"]
        signed = state["versions"][aid] is VersionStatus.active
        assert state["signatures"].get(aid, 0) == (2 if signed else 1), f"plan {aid}: half-signed"
        assert state["activated"].get(aid, 0) == (1 if signed else 0), f"plan {aid}: active without its event"
        assert signed or state["versions"][aid] is VersionStatus.awaiting
    def done(kind, item) -> bool:
        if kind == "referral":
            return state["status"][item[0]] is ReferralStatus.accepted
        if kind == "consent":
            return item in state["withdrawn"]
        return state["versions"][item["agreement"]] is VersionStatus.active

    assert not all(done(kind, item) for kind, item in thirds[2]) or all(done(kind, item) for kind, item in items), \
        "the server was killed after the last write of the stream: nothing was in flight"
    verify = schakel(served["env"], "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # after the restart the stream goes on where it was
    rest = stream.items([(rid, v) for rid, v in referrals if state["status"][rid] is ReferralStatus.requested],
                        [cid for cid in consents if cid not in state["withdrawn"]],
                        [p for p in plans if state["versions"][p["agreement"]] is VersionStatus.awaiting])
    more: dict[str, set] = {"referral": set(), "consent": set(), "plan": set()}
    stream.log_in()
    stream.failures.clear()
    stream.write(rest, more)
    assert sum(map(len, more.values())) == len(rest), stream.failures


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite is a file in the process: there is no server to lose")
def test_postgresql_gone_under_load_fails_cleanly_and_recovers(served):
    from tests.reliability.tcp_proxy import TcpProxy

    base, _, name = served["url"].rpartition("/")
    host_port = base.rsplit("@", 1)[1]
    host, port = host_port.split(":") if ":" in host_port else (host_port, "5432")
    with TcpProxy(host, int(port)) as proxy:
        served["hub"].env = {**served["env"], "DATABASE_URL": f"{base.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}/{name}",
                             "DATABASE_CONNECT_TIMEOUT": "3"}
        hub: Hub = served["hub"].start()
        token = hub.token(served["client_id"], served["secret"])
        rid = served["referrals"][0][0]
        headers = {"Authorization": f"Bearer {token}"}
        assert hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers)[0] == 200

        proxy.cut()  # every open connection dropped, new ones refused
        answers = []

        def get(_):
            started = time.monotonic()
            status, response_headers, body = hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers,
                                                         timeout=30)
            answers.append((status, response_headers.get("Content-Type"), body, time.monotonic() - started))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(get, range(24)))
        assert {a[0] for a in answers} == {503}, [a[:2] for a in answers]
        assert all(a[1].startswith("application/problem+json") for a in answers)
        assert all(json.loads(a[2])["status"] == 503 for a in answers)
        assert max(a[3] for a in answers) < 15, "a request waited too long for the missing database"

        proxy.restore()
        deadline, status = time.time() + 20, None
        while time.time() < deadline:
            status = hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers)[0]
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, "the hub did not recover after the database came back"
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers)[0],
                                     range(24)))
        assert set(statuses) == {200}


def test_concurrent_answers_to_one_referral_one_wins_the_other_is_told(served):
    """Two colleagues' systems answer the same referral at the same moment (accept and decline,
    each with the ETag it read): exactly one answer is taken, the other gets 412 (or 409 once the
    status moved on), and the referral's history has exactly that one answer."""
    hub: Hub = served["hub"].start()
    token = hub.token(served["client_id"], served["secret"])
    headers = {"Authorization": f"Bearer {token}"}
    outcomes = []
    for rid, version in served["referrals"][:12]:
        barrier = threading.Barrier(2)

        def answer(body, rid=rid, version=version, barrier=barrier):
            barrier.wait()
            return hub.request("POST", f"/api/v1/referrals/{rid}/transitions", body=body,
                               headers={**headers, "If-Match": f'W/"{version}"'})[0]

        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(answer, [{"status": "accepted"},
                                              {"status": "rejected", "reason": "Geen plek meer"}]))
        outcomes.append((rid, statuses))
    for rid, statuses in outcomes:
        assert sorted(statuses)[0] == 200 and sorted(statuses)[1] in (409, 412), (rid, statuses)
    state = _state(served["url"], served["tmp"], served["secrets"])
    for rid, statuses in outcomes:
        winner = ReferralStatus.accepted if statuses[0] == 200 else ReferralStatus.rejected
        assert state["status"][rid] is winner
        assert state["accept_events"].get(rid, 0) == (1 if winner is ReferralStatus.accepted else 0)


def test_the_same_withdrawal_signature_or_grant_sent_twice_at_once_is_written_once(served_few):
    """A double click, or a system that retries too soon: the same consent withdrawal, the same
    plan signature and the same new consent arrive twice at the same moment, and both requests
    read the consent active, the plan unsigned, no consent for that purpose yet. One is taken;
    the other is told 409 (400 on its field for the grant, as any second grant); each withdrawal
    has exactly one receipt and one audit event, each plan one signature of the gemeente and one
    activation, each student one new consent, and the audit log verifies."""
    served = served_few
    hub: Hub = served["hub"].start()
    stream = Stream(hub, served)
    outcomes = []
    grant = {"recipient_id": served["gemeente_id"], "purpose_code": "stagebegeleiding", "channel": "in_person",
             "categories": ["contactgegevens", "opleiding"]}
    for kind, item in ([("consent", c) for c in served["consents"]] + [("plan", p) for p in served["plans"]]
                       + [("grant", s) for s in served["students"]]):
        barrier = threading.Barrier(2)

        def send(_, kind=kind, item=item, barrier=barrier):
            barrier.wait()
            if kind == "grant":  # again, now that the first consent for this purpose is withdrawn
                return hub.request("POST", f"/api/v1/students/{item}/consents", body=grant, headers=stream.school,
                                   timeout=20)[0]
            return stream._request(kind, item)[0]

        with ThreadPoolExecutor(2) as pool:
            outcomes.append((kind, item, sorted(pool.map(send, range(2)))))
    expected = {"consent": [200, 409], "plan": [201, 409], "grant": [201, 400]}
    assert all(statuses == expected[kind] for kind, _, statuses in outcomes), outcomes
    state = _state(served["url"], served["tmp"], served["secrets"])
    for cid in served["consents"]:
        assert cid in state["withdrawn"]
        assert (state["withdraw_receipts"].get(cid), state["withdraw_events"].get(cid)) == (1, 1), f"consent {cid}"
    for plan in served["plans"]:
        aid = plan["agreement"]
        assert state["versions"][aid] is VersionStatus.active
        assert (state["signatures"].get(aid), state["activated"].get(aid)) == (2, 1), f"plan {aid}"
    for student in served["students"]:  # jobcoaching, the withdrawn stagebegeleiding, and one new one
        assert sorted(state["consents_of"][student]) == sorted(
            [ConsentStatus.active, ConsentStatus.withdrawn, ConsentStatus.active]), student
    verify = schakel(served["env"], "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
