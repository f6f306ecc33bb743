"""Synthetic national dataset, scaled by a factor, bulk-loaded.

Factor 1 = 40 regions, 20,000 services, 200,000 students, 2,000,000 consents, 1,000,000
referrals, 10,000,000 audit events (DESIGN.md, issue 8). The audit log is seeded as production
keeps it: chained and signed (as ``network.audit_chain.seal`` does) but for the newest events, which
the harness seals and times before it verifies the whole chain.

Referrals come from :func:`tests.bench.referral_seed.seed_referrals` (the service-layer bench's
seeder): per region the first gemeente receives 80 % and the RMC 20 %, from every school of the
region, with their events, packets and (for the gemeente) the students' consents. The measured
receiver is the gemeente of the load school's region; its open referrals with an active consent
carry a real encrypted packet (``referral_detail_ids``). Partner staff of that gemeente log in
for the inbox; an OAuth API client of the load school and one of that gemeente (all scopes)
serve the JSON API. A few signed plans (student and school, made through the agreement
services, so ``/controle/<code>`` answers "geldig") give the verification codes.

Loading: PostgreSQL gets ``COPY ... FROM STDIN`` through psycopg's ``cursor.copy``; SQLite gets
SQLAlchemy Core ``insert()`` executemany in chunks. Rows are generated chunk by chunk, so memory
stays flat at any factor. Distributions: students per school and events/consents per student
are log-normal (a few big schools and a few much-discussed students, a long tail of quiet ones).
Only ``bsn_fraction`` of the students get a (valid, 11-proof) BSN, encrypted with the app's
keyring: AES-GCM per row is the slow part of seeding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, text, update

from network.audit_chain import CHECKPOINT_VERSION, GENESIS, AuditChainHead, AuditCheckpoint, event_hash
from network.audit_merkle import leaf_body, leaf_hash, root
from network.clock import utcnow
from network.crypto import FieldRef
from network.db import db
from network.oauth import SCOPES
from network.oauth import digest as oauth_digest

FULL = {"regions": 40, "services": 20_000, "students": 200_000, "consents": 2_000_000,
        "referrals": 1_000_000, "audit_events": 10_000_000}
PASSWORD = "bench-wachtwoord-8f3k2"
LOAD_ACCOUNTS = 8
#: secret of the load organisations' API clients (``network.oauth.digest`` of it is stored)
API_SECRET = "bench-api-geheim-3kq9x7"
#: signed plans at factor 1 (each through the services: create, sections, parties, offer, 2 signatures)
AGREEMENTS = 200
#: load-school students given a consent to the measured gemeente, to create referrals for
CREATE_CANDIDATES = 2000
REFERRAL_CATEGORIES = ["contactgegevens", "ondersteuningsbehoefte", "opleiding"]
CHUNK = 20_000
#: audit events left unsealed by the seed (at most; 1 % at small factors): the harness seals them
PENDING_EVENTS = 100_000
#: a signed checkpoint every so many sealed events of the seeded history
CHECKPOINT_EVERY = 1_000_000

FIRST = ["Sem", "Noah", "Liam", "Daan", "Lucas", "Finn", "Levi", "Emma", "Julia", "Mila", "Tess", "Sophie", "Zoë",
         "Yara", "Noor", "Fatima", "Mohammed", "Ayoub", "Sara", "Lotte", "Jesse", "Bram", "Anouk", "Milan"]
LAST = ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
        "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
        "Yilmaz", "El Amrani", "Öztürk", "Kaya", "Nguyen"]
EVENT_TYPES = [("student:view", "R", 0.55), ("student:list", "R", 0.15), ("auth:login", "login", 0.1),
               ("consent:grant", "C", 0.08), ("consent:withdraw", "U", 0.02), ("student:edit", "U", 0.05),
               ("socialmap:service:update", "U", 0.05)]


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    load_school_id: int = 0
    load_emails: list[str] = field(default_factory=list)
    login_emails: list[str] = field(default_factory=list)
    student_ids: list[str] = field(default_factory=list)
    withdraw_consent_ids: list[int] = field(default_factory=list)
    count_consent_ids: list[int] = field(default_factory=list)
    #: the gemeente whose inbox is measured, its staff's e-mail addresses (password PASSWORD)
    gemeente_id: int = 0
    partner_emails: list[str] = field(default_factory=list)
    #: referrals to that gemeente with a real packet and an active consent (detail pages)
    referral_detail_ids: list[int] = field(default_factory=list)
    #: "school" / "gemeente" -> (client_id, secret) of the load organisations' API clients
    api_clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: load-school students with a consent to the gemeente (jobcoaching), and the service to
    #: refer them to: the body of POST /api/v1/referrals
    create_student_ids: list[str] = field(default_factory=list)
    create_service_id: int = 0
    #: verification codes of signed agreements (/controle/<code>)
    verify_codes: list[str] = field(default_factory=list)


def scaled(factor: float) -> dict[str, int]:
    return {name: max(1, round(value * factor)) for name, value in FULL.items()}


def valid_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        last = sum(d * (9 - i) for i, d in enumerate(digits)) % 11
        if last < 10:
            return "".join(map(str, digits + [last]))


def _lognormal_weights(rng: random.Random, n: int, sigma: float) -> list[float]:
    return list(itertools.accumulate(rng.lognormvariate(0, sigma) for _ in range(n)))


def bulk(conn, table_name: str, rows: Iterable[dict[str, Any]]) -> int:
    """Load ``rows`` (dicts with the same keys) into ``table_name``: COPY on PostgreSQL,
    Core executemany in chunks of :data:`CHUNK` on SQLite. Returns the number of rows."""
    table = db.metadata.tables[table_name]
    total = 0
    if conn.dialect.name == "postgresql":
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return 0
        columns = list(first)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in itertools.chain([first], iterator):
                copy.write_row([_pg(row[c]) for c in columns])
                total += 1
        return total
    stmt = insert(table)
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        conn.execute(stmt, chunk)
        total += len(chunk)
    return total


def _pg(value: Any) -> Any:
    return getattr(value, "value", value)  # enums as their stored string


#: rows between two progress reports of the seed
TICK = 5000


@dataclass
class _Rows:
    """The seed's progress in rows of its big tables (students, consents, services, referrals,
    audit events) and signed plans: ``on_progress(done, total)`` every :data:`TICK` rows."""

    on_progress: Callable[[int, int], None] | None
    total: int
    done: int = 0

    def add(self, count: int) -> None:
        self.done += count
        if self.on_progress is not None and count:
            self.on_progress(min(self.done, self.total), self.total)

    def counted(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """``rows``, counted as the loader takes them."""
        since = 0
        for row in rows:
            yield row
            since += 1
            if since == TICK:
                self.add(since)
                since = 0
        self.add(since)


@dataclass
class _Run:
    """What the steps of :func:`seed` share: the loading connection, the random source (drawn from in
    the same order as ever, so a seed value gives the same data), the sizes and what earlier steps made."""

    conn: Any
    rng: random.Random
    keyring: Any
    n: dict[str, int]
    out: Seeded
    now: dt.datetime
    today: dt.date
    rows: _Rows = field(default_factory=lambda: _Rows(None, 0))
    regions: list[dict[str, Any]] = field(default_factory=list)
    schools: list[dict[str, Any]] = field(default_factory=list)
    partners_by_region: dict[int, list[int]] = field(default_factory=dict)
    #: the referral receivers per region: its first gemeente (80 %) and its RMC (20 %)
    receivers: dict[int, list[tuple[int, str, float]]] = field(default_factory=dict)
    provider_ids: list[int] = field(default_factory=list)
    load_school: dict[str, Any] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    mentors: dict[int, int] = field(default_factory=dict)
    partner_staff: dict[int, list[int]] = field(default_factory=dict)
    student_ids: list[uuid.UUID] = field(default_factory=list)
    student_school: list[dict[str, Any]] = field(default_factory=list)
    student_weights: list[float] = field(default_factory=list)
    load_students: list[str] = field(default_factory=list)
    special: set[str] = field(default_factory=set)
    text_hash: str = ""
    #: (student, recipient, purpose id) of every active consent, over all three kinds seeded
    #: here: the database holds at most one (ux_consent_one_active)
    active: set[tuple[str, int, int]] = field(default_factory=set)


def seed(app, factor: float, *, bsn_fraction: float = 0.01, seed_value: int = 8,
         login_accounts: int = 600, on_progress: Callable[[int, int], None] | None = None) -> Seeded:
    """Fill the (freshly migrated, empty) database of ``app``. Returns what the load needs.
    ``on_progress(done, total)``: rows of the big tables loaded (see :class:`_Rows`)."""
    import time

    rng = random.Random(seed_value)
    n = scaled(factor)
    out = Seeded()
    keyring = app.extensions["schakel.keyring"]
    hasher = app.extensions["schakel.hasher"]
    now = utcnow()
    today = now.date()
    have_socialmap = _have_socialmap()
    agreements = max(3, round(AGREEMENTS * factor))
    rows = _Rows(on_progress, n["students"] + n["consents"] + (n["services"] if have_socialmap else 0)
                 + n["referrals"] + n["audit_events"] + agreements)

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")  # this loading connection only
            run = _Run(conn=conn, rng=rng, keyring=keyring, n=n, out=out, now=now, today=today, rows=rows)
            step = time.perf_counter()
            _seed_organisations(run, factor, have_socialmap=have_socialmap)
            _seed_accounts(run, hasher.hash(PASSWORD), login_accounts)
            out.seconds["organisations_accounts"] = time.perf_counter() - step
            step = time.perf_counter()
            _seed_students(run, bsn_fraction)
            out.seconds["students"] = time.perf_counter() - step
            step = time.perf_counter()
            _seed_consents(run)
            out.seconds["consents"] = time.perf_counter() - step
            if have_socialmap:
                step = time.perf_counter()
                out.counts["services"] = _seed_services(conn, rng, n["services"], run.provider_ids, now,
                                                        counted=rows.counted)
                out.seconds["services"] = time.perf_counter() - step
            step = time.perf_counter()
            _seed_referrals(run)
            out.seconds["referrals"] = time.perf_counter() - step
            _seed_api_clients(run)
            step = time.perf_counter()
            _seed_audit_events(run)
            out.seconds["audit_events"] = time.perf_counter() - step
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn)
        step = time.perf_counter()
        out.verify_codes = _seed_agreements(app, keyring, run.load_school["id"], out.load_emails[0],
                                            agreements, today, now)
        rows.add(agreements)
        out.counts["signed_agreements"] = len(out.verify_codes)
        out.seconds["agreements"] = time.perf_counter() - step
        step = time.perf_counter()
        _analyze(engine)
        out.seconds["analyze"] = time.perf_counter() - step
        engine.dispose()
    return out


def _seed_organisations(run: _Run, factor: float, *, have_socialmap: bool) -> None:
    """Regions, schools, the partner organisations of each region and the sociale kaart's providers."""
    n, now, out = run.n, run.now, run.out
    regions = [{"id": i + 1, "name": f"Regio {i + 1}", "code": f"regio-{i + 1}", "created_at": now}
               for i in range(n["regions"])]
    bulk(run.conn, "region", regions)
    n_schools = max(2, round(500 * factor))
    orgs: list[dict[str, Any]] = []
    for i in range(n_schools):
        org = {"id": len(orgs) + 1, "region_id": regions[i % len(regions)]["id"], "name": f"School {i + 1}",
               "type": "school", "brin": f"{i:04d}XB"[:6], "gemeente": "Waalstede", "is_active": True,
               "created_at": now, "version": 1}
        orgs.append(org)
        run.schools.append(org)
    partner_types = ["gemeente", "gemeente", "gemeente", "uwv", "rmc", "wsp", "werkgever", "werkgever",
                     "zorg", "mee"]
    for region in regions:
        for j, kind in enumerate(partner_types):
            org = {"id": len(orgs) + 1, "region_id": region["id"], "name": f"{kind.title()} {j + 1}",
                   "type": kind, "gemeente": "Waalstede", "is_active": True, "created_at": now,
                   "version": 1, "email": f"{kind}{j}.r{region['id']}@bench.example"}
            orgs.append(org)
            run.partners_by_region.setdefault(region["id"], []).append(org["id"])
            if (kind, j) in (("gemeente", 0), ("rmc", 4)):
                run.receivers.setdefault(region["id"], []).append((org["id"], kind, 0.8 if j == 0 else 0.2))
    for k in range(max(1, n["services"] // 5) if have_socialmap else 0):
        org = {"id": len(orgs) + 1, "region_id": regions[k % len(regions)]["id"],
               "name": f"Aanbieder {k + 1}", "type": run.rng.choice(["gemeente", "werkgever", "zorg", "mee"]),
               "gemeente": "Waalstede", "is_active": True, "created_at": now, "version": 1}
        orgs.append(org)
        run.provider_ids.append(org["id"])
    bulk(run.conn, "organisation", ({"brin": None, "email": None, **o} for o in orgs))
    out.counts["regions"], out.counts["organisations"] = len(regions), len(orgs)
    run.regions = regions


def _seed_accounts(run: _Run, password_hash: str, login_accounts: int) -> None:
    """Load users (one hash, reused), a few staff per school and per partner; also picks which
    school each student goes to (the load school is the biggest)."""
    rng, out, now, schools = run.rng, run.out, run.now, run.schools
    school_weights = _lognormal_weights(rng, len(schools), 0.6)
    run.student_school = rng.choices(schools, cum_weights=school_weights, k=run.n["students"])
    sizes: dict[int, int] = {}
    for school in run.student_school:
        sizes[school["id"]] = sizes.get(school["id"], 0) + 1
    load_school = max(schools, key=lambda s: sizes.get(s["id"], 0))
    run.load_school = load_school
    out.load_school_id = load_school["id"]
    out.gemeente_id = run.receivers[load_school["region_id"]][0][0]
    accounts, memberships = run.accounts, run.memberships

    def account(email: str, org_id: int, role: str) -> int:
        accounts.append({"id": len(accounts) + 1, "email": email, "name": email.split("@")[0],
                         "password_hash": password_hash, "is_active": True, "failed_logins": 0,
                         "created_at": now, "version": 1})
        memberships.append({"account_id": len(accounts), "organisation_id": org_id, "role": role,
                            "created_at": now})
        return len(accounts)

    for k in range(LOAD_ACCOUNTS):
        out.load_emails.append(f"bench-staff-{k}@bench.example")
        account(out.load_emails[-1], load_school["id"], "zorgcoordinator")
    # one account per login attempt: concurrent logins of one account collide on its version
    for k in range(login_accounts):
        out.login_emails.append(f"bench-login-{k}@bench.example")
        account(out.login_emails[-1], load_school["id"], "mentor")
    # the measured gemeente's staff: one session each for the inbox load
    for k in range(LOAD_ACCOUNTS):
        out.partner_emails.append(f"bench-partner-{k}@bench.example")
        run.partner_staff.setdefault(out.gemeente_id, []).append(
            account(out.partner_emails[-1], out.gemeente_id, "partner_staff"))
    for school in schools:
        for k, role in enumerate(("mentor", "mentor", "decaan", "bpv_begeleider", "zorgcoordinator")):
            made = account(f"{role}{k}.s{school['id']}@bench.example", school["id"], role)
            run.mentors.setdefault(school["id"], made)
    for ids in run.partners_by_region.values():
        for org_id in ids:
            run.partner_staff.setdefault(org_id, []).append(
                account(f"partner.o{org_id}@bench.example", org_id, "partner_staff"))
    bulk(run.conn, "account", accounts)
    bulk(run.conn, "membership", ({"id": i + 1, **m} for i, m in enumerate(memberships)))
    out.counts["accounts"] = len(accounts)


def _seed_students(run: _Run, bsn_fraction: float) -> None:
    """The students (a fraction with an encrypted BSN), each at the school drawn for it."""
    rng, keyring, now, today = run.rng, run.keyring, run.now, run.today
    run.student_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(run.n["students"])]
    bsn_count = 0

    def students() -> Iterator[dict[str, Any]]:
        nonlocal bsn_count
        levels = ["entree", "mbo2", "mbo3", "mbo4", "pro", "vso"]
        for sid, school in zip(run.student_ids, run.student_school, strict=True):
            row = {"id": sid, "school_id": school["id"], "first_name": rng.choice(FIRST),
                   "last_name": rng.choice(LAST),
                   "date_of_birth": today - dt.timedelta(days=rng.randint(15 * 365, 23 * 365)),
                   "email": f"l{sid.hex[:10]}@student.bench.example", "level": rng.choice(levels),
                   "expected_exit_date": today + dt.timedelta(days=rng.randint(-365, 3 * 365)),
                   "bsn_encrypted": None, "bsn_index": None, "created_at": now, "updated_at": now,
                   "version": 1}
            if rng.random() < bsn_fraction:
                bsn = valid_bsn(rng)
                row["bsn_encrypted"] = keyring.encrypt(bsn, FieldRef("student", "bsn", str(sid)))
                row["bsn_index"] = keyring.blind_index("bsn", bsn)
                bsn_count += 1
            yield row

    run.out.counts["students"] = bulk(run.conn, "student", run.rows.counted(students()))
    run.out.counts["students_with_bsn"] = bsn_count
    run.load_students = [str(sid) for sid, school in zip(run.student_ids, run.student_school, strict=True)
                         if school["id"] == run.load_school["id"]]
    run.out.student_ids = run.load_students[:2000]


def _seed_consents(run: _Run) -> None:
    """Consents (and their per-category items), weighted towards some students; at most one
    active consent per student, recipient and purpose."""
    rng, out, now, today, conn = run.rng, run.out, run.now, run.today, run.conn
    needed: dict[int, list[str]] = {}
    for pid, cat in conn.execute(text("SELECT purpose_id, category FROM consent_purpose_category")):
        needed.setdefault(pid, []).append(cat)
    run.special = special = {code for (code,) in conn.execute(text(
        "SELECT code FROM consent_data_category WHERE is_special"))}
    run.student_weights = _lognormal_weights(rng, len(run.student_ids), 1.0)
    region_of_school = {s["id"]: s["region_id"] for s in run.schools}
    load_index = set(run.load_students)
    run.text_hash = text_hash = hashlib.sha256(b"bench consent text v1").hexdigest()
    items: list[dict[str, Any]] = []
    active, student_ids, student_school = run.active, run.student_ids, run.student_school

    def consents() -> Iterator[dict[str, Any]]:
        chosen = rng.choices(range(len(student_ids)), cum_weights=run.student_weights, k=run.n["consents"])
        for cid, index in enumerate(chosen, 1):
            school_id = student_school[index]["id"]
            pid = rng.choice(list(needed))
            recipient = rng.choice(run.partners_by_region[region_of_school[school_id]])
            roll = rng.random()
            status = "active" if roll < 0.85 else ("withdrawn" if roll < 0.95 else "expired")
            if status == "active" and (str(student_ids[index]), recipient, pid) in active:
                status = "withdrawn"  # one active consent per organisation and purpose (a unique index)
            elif status == "active":
                active.add((str(student_ids[index]), recipient, pid))
            start = today - dt.timedelta(days=rng.randint(0, 700))
            until = start + dt.timedelta(days=730)
            if status == "expired":
                until = today - dt.timedelta(days=rng.randint(1, 30))
                start = until - dt.timedelta(days=730)
            given = dt.datetime.combine(start, dt.time(10), dt.UTC)
            cats = rng.sample(needed[pid], rng.randint(1, len(needed[pid])))
            for cat in cats:
                items.append({"consent_id": cid, "category": cat, "explicit": cat in special})
            sid = str(student_ids[index])
            if status == "active" and sid in load_index:
                out.withdraw_consent_ids.append(cid)
            yield {"id": cid, "student_id": student_ids[index],
                   "recipient_id": recipient,
                   "purpose_id": pid, "status": status, "valid_from": start, "valid_until": until,
                   "given_by": "student", "channel": "portal", "text_version": "v1", "text_hash": text_hash,
                   "recorded_by_name": "Bench", "given_at": given,
                   "withdrawn_at": given + dt.timedelta(days=30) if status == "withdrawn" else None,
                   "withdrawn_by_name": "Bench" if status == "withdrawn" else None,
                   "expired_at": now if status == "expired" else None}

    out.counts["consents"] = bulk(conn, "consent", run.rows.counted(consents()))
    out.counts["consent_items"] = bulk(conn, "consent_item", items)
    items.clear()
    rng.shuffle(out.withdraw_consent_ids)
    out.count_consent_ids = out.withdraw_consent_ids[:4]
    out.withdraw_consent_ids = out.withdraw_consent_ids[4:]


def _seed_referrals(run: _Run) -> None:
    """Referrals (tests/bench/referral_seed.py), and the consents the load needs to create more."""
    from tests.bench import referral_seed

    rng, out, now, today, conn, n = run.rng, run.out, run.now, run.today, run.conn, run.n
    service_of = _seed_receiver_services(conn, rng, run.receivers, out.counts.get("services", 0), now)
    out.create_service_id = service_of[out.gemeente_id][0]
    purposes = dict(conn.execute(text("SELECT code, id FROM consent_purpose")).all())
    region_students = [(sid, school["id"], school["region_id"])
                       for sid, school in zip(run.student_ids, run.student_school, strict=True)]
    # enough of the measured gemeente's open referrals get a real packet at any factor
    qualifying = n["referrals"] / len(run.regions) * 0.8 * 0.1
    made = referral_seed.seed_referrals(
        conn, rng, run.keyring, count=n["referrals"], students=region_students, receivers=run.receivers,
        service_of=service_of, mentors=run.mentors, staff=run.partner_staff, purposes=purposes,
        measured_id=out.gemeente_id, now=now, today=today, first_consent_id=out.counts["consents"] + 1,
        active=run.active, on_rows=run.rows.add,
        detail_chance=min(1.0, 4 * referral_seed.DETAIL_SAMPLE / max(qualifying, 1)))
    out.referral_detail_ids = made.detail_ids
    out.counts["referrals"] = n["referrals"]
    out.counts.update({f"referral_{k}" if k.startswith("consent") else k: v for k, v in made.counts.items()})
    out.counts["referrals_to_measured_gemeente"] = conn.execute(text(
        "SELECT count(*) FROM referral WHERE to_organisation_id = :o"), {"o": out.gemeente_id}).scalar_one()
    first = out.counts["consents"] + made.counts["consents"] + 1
    jobcoaching = purposes["jobcoaching"]
    out.create_student_ids = [sid for sid in run.load_students
                              if (sid, out.gemeente_id, jobcoaching) not in run.active][:CREATE_CANDIDATES]
    create_consents = [
        {"id": first + k, "student_id": uuid.UUID(sid), "recipient_id": out.gemeente_id,
         "purpose_id": jobcoaching, "status": "active", "valid_from": today - dt.timedelta(days=5),
         "valid_until": today + dt.timedelta(days=700), "given_by": "student", "channel": "portal",
         "text_version": "v1", "text_hash": run.text_hash, "recorded_by_name": "Bench",
         "given_at": now - dt.timedelta(days=5), "withdrawn_at": None, "expired_at": None}
        for k, sid in enumerate(out.create_student_ids)]
    bulk(conn, "consent", create_consents)
    bulk(conn, "consent_item", ({"consent_id": c["id"], "category": cat, "explicit": cat in run.special}
                                for c in create_consents for cat in REFERRAL_CATEGORIES))
    out.counts["create_referral_consents"] = len(create_consents)


def _seed_api_clients(run: _Run) -> None:
    """The load organisations' API clients (all scopes)."""
    out = run.out
    out.api_clients = {"school": ("bench-school", API_SECRET), "gemeente": ("bench-gemeente", API_SECRET)}
    bulk(run.conn, "api_client", [
        {"id": k + 1, "client_id": client_id, "organisation_id": org_id, "name": f"Bench {who}",
         "secret_hash": oauth_digest(secret), "scope": " ".join(sorted(SCOPES)), "created_at": run.now}
        for k, (who, (client_id, secret), org_id) in enumerate(
            (who, out.api_clients[who], org_id)
            for who, org_id in (("school", run.load_school["id"]), ("gemeente", out.gemeente_id)))])


def _seed_audit_events(run: _Run) -> None:
    """Audit events: a sealed history, and the newest PENDING_EVENTS not yet sealed (production
    seals every minute, so its log is sealed but for the last moments; the harness seals the
    pending rest and times that, then verifies the whole chain)."""
    rng, out, now, n, student_ids = run.rng, run.out, run.now, run.n, run.student_ids
    pending = min(PENDING_EVENTS, max(1, n["audit_events"] // 100))
    sealed_upto = n["audit_events"] - pending
    checkpoints: list[tuple[int, str]] = []
    staff = [(a["id"], a["name"], m["organisation_id"], m["role"])
             for a, m in zip(run.accounts, run.memberships, strict=True)]
    cum_types = list(itertools.accumulate(w for *_, w in EVENT_TYPES))
    span = dt.timedelta(days=730)
    total_events = n["audit_events"]

    leaves: list[bytes] = []

    def events() -> Iterator[dict[str, Any]]:
        start = now - span
        prev = GENESIS
        for i in range(total_events):
            event_type, action, _w = rng.choices(EVENT_TYPES, cum_weights=cum_types)[0]
            account_id, name, org_id, role = rng.choice(staff)
            about_a_student = event_type != "auth:login" and event_type != "socialmap:service:update"
            index = (rng.choices(range(len(student_ids)), cum_weights=run.student_weights)[0]
                     if about_a_student else None)
            sid = str(student_ids[index]) if index is not None else None
            row = {"occurred_at": start + span * (i / total_events), "action": action,
                   "event_type": event_type, "outcome": "success" if rng.random() < 0.97 else "denied",
                   "account_id": account_id, "account_name": name, "role": role,
                   "organisation_id": org_id, "organisation_name": f"Organisatie {org_id}",
                   "on_behalf_of": None, "purpose": "begeleiding-naar-werk" if sid else None,
                   "channel": "web", "source_ip": f"10.{i % 250}.{(i // 250) % 250}.{i % 7 + 1}",
                   "user_agent": "Mozilla/5.0 (bench)", "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                   "object_type": "student" if sid else "account", "object_id": sid or str(account_id),
                   "student_id": sid, "basis": "legal_task:onderwijstaak" if sid else None,
                   "detail": json.dumps({"allowed": ["contactgegevens", "opleiding"],
                                         "requested": ["bsn", "contactgegevens", "opleiding"]},
                                        sort_keys=True, separators=(",", ":"))}
            if i < sealed_upto:  # chained exactly as network.audit_chain.seal does
                seq = i + 1
                row.update(seq=seq, prev_hash=prev, hash=event_hash(row, seq, prev))
                prev = row["hash"]
                leaves.append(leaf_hash(leaf_body(row, seq, prev)))
                if seq % CHECKPOINT_EVERY == 0 or seq == sealed_upto:
                    # signed half a minute after its last event, as the sealer would
                    checkpoints.append((seq, prev, seq - len(leaves) + 1, root(leaves).hex(),
                                        row["occurred_at"] + dt.timedelta(seconds=30)))
                    leaves.clear()
            else:
                row.update(seq=None, prev_hash=None, hash=None)
            yield row

    out.counts["audit_events"] = bulk(run.conn, "audit_event", run.rows.counted(events()))
    out.counts["audit_events_sealed_in_seed"] = sealed_upto
    signed = []
    for k, (seq, head_hash, first_seq, root_hash, signed_at) in enumerate(checkpoints):
        checkpoint = AuditCheckpoint(seq=seq, head_hash=head_hash, first_seq=first_seq, root_hash=root_hash,
                                     created_at=signed_at, version=CHECKPOINT_VERSION)
        kid, signature = run.keyring.sign(checkpoint.payload())
        signed.append({"id": k + 1, "seq": seq, "head_hash": head_hash, "created_at": signed_at, "key_id": kid,
                       "signature": signature, "first_seq": first_seq, "root_hash": root_hash,
                       "version": CHECKPOINT_VERSION})
    bulk(run.conn, "audit_checkpoint", signed)
    if checkpoints:
        run.conn.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(
            last_seq=checkpoints[-1][0], last_hash=checkpoints[-1][1], updated_at=now))


def _reset_sequences(conn) -> None:
    """PostgreSQL: move the id sequences past the ids the seed wrote itself."""
    for table in ("region", "organisation", "account", "membership", "consent", "socialmap_service",
                  "referral", "referral_event", "referral_packet", "api_client", "audit_checkpoint"):
        if table in db.metadata.tables:
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))")


def _analyze(engine) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the dirty buffers written) before the load."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE")
            # write the load's dirty buffers now, not during the measurement (a checkpoint
            # of gigabytes on this 2-core VM takes CPU and I/O from the server under test)
            conn.exec_driver_sql("CHECKPOINT")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def _seed_receiver_services(conn, rng: random.Random, receivers: dict[int, list[tuple[int, str, float]]],
                            offset: int, now: dt.datetime) -> dict[int, list[int]]:
    """Two services of each referral receiver (a referral goes to a service on the sociale
    kaart), numbered on after the ``offset`` services already there."""
    rows, service_of = [], {}
    for found in receivers.values():
        for org_id, kind, _w in found:
            service_of[org_id] = []
            for k in range(2):
                sid = offset + len(rows) + 1
                rows.append({"id": sid, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
                             "organisation_id": org_id, "name": f"{kind.title()} dienst {k + 1}",
                             "description": "Begeleiding naar werk", "status": "active", "keywords": "werk",
                             "is_internal": False, "sbb_recognised": False, "response_days": 5, "verified_at": now,
                             "created_at": now, "updated_at": now, "version": 1})
                service_of[org_id].append(sid)
    bulk(conn, "socialmap_service", rows)
    return service_of


def _principal(account):
    from network.permissions import Principal, permissions_for
    from network.web import acting_from

    memberships = tuple(acting_from(m) for m in account.memberships)
    return Principal(account_id=account.id, name=account.name, acting=memberships[0], memberships=memberships,
                     permissions=permissions_for(memberships[0].role), channel="cli")


def _seed_agreements(app, keyring, school_id: int, staff_email: str, count: int, today: dt.date,
                     now: dt.datetime) -> list[str]:
    """``count`` signed plans of load-school students (17 or older, each given an account),
    made and signed by the student and the school through the agreement services, so their
    verification (``/controle/<code>``) checks real content hashes and Ed25519 signatures.
    Returns their verification codes."""
    import copy

    from sqlalchemy import select

    from consent.agreements.access import access_of
    from consent.agreements.demo import PLAN
    from consent.agreements.lifecycle import offer_for_signature
    from consent.agreements.models import AgreementKind, SignatureMethod, SigningOrder
    from consent.agreements.service import create_agreement, save_parties, save_section
    from consent.agreements.signatures import sign_version
    from network.models import Account, Membership, Role, Student

    session = db.session
    staff = _principal(session.scalar(select(Account).where(Account.email == staff_email)))
    born_before = today - dt.timedelta(days=17 * 366)
    students = session.scalars(select(Student).where(Student.school_id == school_id,
                                                     Student.date_of_birth <= born_before,
                                                     Student.account_id.is_(None))
                               .order_by(Student.id).limit(count)).all()
    school_key = f"org-{school_id}"
    codes = []
    for k, student in enumerate(students):
        account = Account(email=f"bench-student-{k}@student.bench.example", is_active=True,
                          name=f"{student.first_name} {student.last_name}")
        session.add(account)
        session.flush()
        session.add(Membership(account_id=account.id, organisation_id=school_id, role=Role.student))
        student.account_id = account.id
        session.flush()
        session.refresh(account)
        me = _principal(account)
        plan = create_agreement(session, staff, keyring, student, AgreementKind.plan, now=now)
        session.flush()
        access = access_of(session, staff, plan)
        for code, part in copy.deepcopy(PLAN).items():
            save_section(session, staff, keyring, plan, access, code, part, now=now)
        save_parties(session, staff, keyring, plan, access, [
            {"key": "student", "role": "leerling", "commitment": "Ik kom mijn afspraken na."},
            {"key": school_key, "role": "school", "commitment": "De mentor begeleidt de eindstage."}], now=now)
        offer_for_signature(session, staff, keyring, plan, access, order=SigningOrder.parallel,
                            signers=["student", school_key], now=now)
        session.flush()
        for actor, key in ((me, "student"), (staff, school_key)):
            sign_version(session, actor, keyring, plan, access_of(session, actor, plan), 1, key,
                         authenticated_at=now, method=SignatureMethod.password, now=now)
            session.flush()
        codes.append(plan.verify_code)
        if k % 50 == 49:
            session.commit()
    session.commit()
    session.remove()
    return codes


def _have_socialmap() -> bool:
    try:
        import socialmap.models  # noqa: F401
    except ImportError:
        return False
    return "socialmap_service" in db.metadata.tables


def _seed_services(conn, rng: random.Random, count: int, provider_ids: list[int], now: dt.datetime,
                   counted: Callable[[Iterable[dict[str, Any]]], Iterable[dict[str, Any]]] = iter) -> int:
    """Services with two categories each, vocabulary as in tests/bench/test_socialmap_search.py."""
    from sqlalchemy.orm import Session

    from socialmap.entries import ensure_default_categories
    from socialmap.models import service_category

    words = ["jobcoach", "begeleiding", "jongeren", "werk", "stage", "horeca", "logistiek", "zorg", "schulden",
             "geldzaken", "budget", "coaching", "uitkering", "leerplicht", "werkgever", "vacature", "praktijk",
             "opleiding", "entree", "wonen", "dagbesteding", "re-integratie", "loonkostensubsidie"]
    filler = [f"{a}{b}" for a in ("werk", "zorg", "school", "team", "plan", "hulp", "wijk", "regio", "traject")
              for b in ("punt", "huis", "loket", "route", "groep", "plaats", "centrum", "dienst", "kamer", "lijn")]
    with Session(bind=conn) as session:
        categories = [(c.id, c.name) for c in ensure_default_categories(session)]
        session.flush()
    links: list[dict[str, int]] = []

    def services() -> Iterator[dict[str, Any]]:
        for i in range(count):
            cats = rng.sample(categories, 2)
            links.extend({"service_id": i + 1, "category_id": cid} for cid, _ in cats)
            name = " ".join([rng.choice(words)] + rng.sample(filler, 2)).capitalize()
            yield {"id": i + 1, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
                   "organisation_id": provider_ids[i % len(provider_ids)], "name": f"{name} {i}",
                   "description": " ".join(rng.choices(filler, k=25) + rng.sample(words, 2)),
                   "status": "active", "keywords": " ".join(n for _, n in cats), "is_internal": False,
                   "sbb_recognised": False, "verified_at": now, "created_at": now, "updated_at": now, "version": 1}

    total = bulk(conn, "socialmap_service", counted(services()))
    bulk(conn, service_category.name, links)
    return total
