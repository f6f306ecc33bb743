"""Consent at scale (issue 4, "Speed"): not in the default run.

    SCHAKEL_BENCH=1 [SCHAKEL_BENCH_FACTOR=0.1] [TEST_DATABASE_URL=postgresql+psycopg://…] \
        pytest -m bench tests/bench/test_consent_speed.py -s -p no:randomly

Seeds ``2,000,000 × factor`` consents (default factor 0.1: 200,000) over ``200,000 × factor``
students and ``20,000 × factor`` partner organisations in 40 regions, with bulk Core
``insert()`` executemany (not the ORM services), plus one audit event per consent as
background and 10,000 audit events for one student. Then it measures, in process:

- ``network.access.decide`` for partner staff (half with a consent, half without): SQL
  statements per decision (a ``before_cursor_execute`` listener; the audit INSERT counted
  apart) and p50/p95 of the decision, and of the decision plus the flush of its audit event;
- the student's "Wie heeft mijn gegevens bekeken" page (``/mijn-gegevens/inzage``) through the
  test client: p50/p95 and statements per request;
- the query plans of those statements (``EXPLAIN`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on
  SQLite), which must use the indexes.

Figures go to ``tests/bench/results/consent-<db>-<date>.json`` and ``.md`` (with
``-factor<f>`` added for another factor than the default). Timings are
reported, never asserted (DESIGN.md: "measured there, never asserted as timings"); the
statement count and the index use are asserted, as they do not depend on the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import statistics
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select, text

from consent.catalogue import seed_catalogues
from consent.models import Consent, ConsentItem, ConsentStatus, Purpose
from network import clock
from network.access import Category, decide
from network.audit import AuditEvent
from network.clock import utcnow
from network.db import db
from network.models import (
    Organisation,
    OrganisationType,
    Region,
    Role,
    SchoolLevel,
    Student,
)
from network.permissions import Acting, Principal, permissions_for

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

RESULTS = Path(__file__).parent / "results"
FACTOR = float(os.environ.get("SCHAKEL_BENCH_FACTOR", "0.1"))
FULL_CONSENTS, FULL_STUDENTS, FULL_PARTNERS = 2_000_000, 200_000, 20_000
REGIONS = 40
LOG_EVENTS = 10_000  # audit events of the one student whose access log is measured (not scaled)
DECISIONS = 2_000
PAGE_VIEWS = 100
CHUNK = 10_000
PARTNER_TYPES = (OrganisationType.gemeente, OrganisationType.uwv, OrganisationType.wsp, OrganisationType.rmc,
                 OrganisationType.mee, OrganisationType.zorg, OrganisationType.werkgever)
TARGETS = {"decide_statements": 2, "decide_p95_ms": 2.0, "access_log_p95_ms": 50.0}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _brin(n: int) -> str:
    """A distinct BRIN-shaped code per school (schools must have one)."""
    letters = "ABCDEFGHJKLMNPRSTVWXYZ"
    return f"{n // 484 % 100:02d}{letters[n // 22 % 22]}{letters[n % 22]}"


def _chunks(rows: list[dict], size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _seed(rng: random.Random) -> dict:
    """Bulk-insert the world; returns what the measurements need."""
    session = db.session
    seed_catalogues(session)
    session.commit()
    purposes = {p.code: (p.id, sorted(p.categories)) for p in session.scalars(select(Purpose))}
    purpose_codes = sorted(purposes)
    now, today = utcnow(), clock.today()
    n_students = max(100, int(FULL_STUDENTS * FACTOR))
    n_partners = max(REGIONS, int(FULL_PARTNERS * FACTOR))
    n_consents = int(FULL_CONSENTS * FACTOR)
    n_schools = max(REGIONS, n_students // 500)

    region_ids = session.execute(
        insert(Region.__table__).returning(Region.__table__.c.id, sort_by_parameter_order=True),
        [{"name": f"Benchregio {i}", "code": f"bench-{i}", "created_at": now} for i in range(REGIONS)],
    ).scalars().all()

    def organisations(count: int, kind) -> list[tuple[int, int, OrganisationType]]:
        rows = [{"region_id": region_ids[i % REGIONS], "name": f"{kind or 'Partner'} {i}",
                 "type": kind or PARTNER_TYPES[i % len(PARTNER_TYPES)], "is_active": True,
                 "brin": _brin(i) if kind is OrganisationType.school else None,
                 "email": None, "created_at": now, "version": 1} for i in range(count)]
        ids = []
        for chunk in _chunks(rows):
            ids += session.execute(
                insert(Organisation.__table__).returning(Organisation.__table__.c.id, sort_by_parameter_order=True),
                chunk,
            ).scalars().all()
        return [(oid, row["region_id"], row["type"]) for oid, row in zip(ids, rows, strict=True)]

    schools = organisations(n_schools, OrganisationType.school)
    partners = organisations(n_partners, None)
    partners_by_region: dict[int, list[tuple[int, int, OrganisationType]]] = {}
    for partner in partners:
        partners_by_region.setdefault(partner[1], []).append(partner)

    students = []
    student_rows = []
    for i in range(n_students):
        school_id, region_id, _type = schools[i % n_schools]
        sid = uuid.UUID(int=rng.getrandbits(128), version=4)
        students.append((sid, school_id, region_id))
        student_rows.append({
            "id": sid, "school_id": school_id, "first_name": "Leerling", "last_name": f"Bench {i}",
            "date_of_birth": dt.date(2006 + i % 3, 1 + i % 12, 1 + i % 28), "level": SchoolLevel.mbo2,
            "programme": "Logistiek", "expected_exit_date": today + dt.timedelta(days=200),
            "created_at": now, "updated_at": now, "version": 1})
    for chunk in _chunks(student_rows):
        session.execute(insert(Student.__table__), chunk)
    del student_rows

    statuses = [ConsentStatus.active] * 16 + [ConsentStatus.withdrawn] * 3 + [ConsentStatus.expired]
    consent_rows, item_rows, audit_rows = [], [], []
    #: (student index, partner) pairs that hold an active consent for a purpose, for the "allowed" decisions
    granted: list[tuple[int, tuple[int, int, OrganisationType], str]] = []
    active_keys: set[tuple[int, int, int]] = set()
    for cid in range(1, n_consents + 1):
        s_index = rng.randrange(n_students)
        sid, school_id, region_id = students[s_index]
        partner = rng.choice(partners_by_region[region_id])
        code = rng.choice(purpose_codes)
        purpose_id, needed = purposes[code]
        status = rng.choice(statuses)
        if status is ConsentStatus.active:
            key = (s_index, partner[0], purpose_id)
            if key in active_keys:  # one active consent per student, recipient and purpose, as the hub keeps
                status = ConsentStatus.withdrawn
            active_keys.add(key)
        valid_until = (today - dt.timedelta(days=rng.randrange(1, 30)) if status is ConsentStatus.expired
                       else today + dt.timedelta(days=rng.randrange(30, 700)))
        valid_from = min(today, valid_until) - dt.timedelta(days=rng.randrange(1, 400))
        consent_rows.append({
            "id": cid, "student_id": sid, "recipient_id": partner[0], "purpose_id": purpose_id, "status": status,
            "valid_from": valid_from, "valid_until": valid_until, "given_by": "student", "channel": "portal",
            "text_version": "bench", "text_hash": "0" * 64, "recorded_by_name": "Leerling", "given_at": now,
            "withdrawn_at": now if status is ConsentStatus.withdrawn else None,
            "expired_at": now if status is ConsentStatus.expired else None})
        for category in rng.sample(needed, min(len(needed), rng.randint(2, 4))):
            item_rows.append({"consent_id": cid, "category": category.value,
                              "explicit": category in (Category.support, Category.justice)})
        audit_rows.append({"occurred_at": now - dt.timedelta(minutes=rng.randrange(500_000)), "action": "C",
                           "event_type": "consent:grant", "outcome": "success", "account_id": None,
                           "account_name": "Leerling", "object_type": "consent", "object_id": str(cid),
                           "student_id": str(sid), "purpose": code, "basis": f"consent:{cid}"})
        if status is ConsentStatus.active and len(granted) < DECISIONS:
            granted.append((s_index, partner, code))
        if len(consent_rows) >= CHUNK:
            _flush_rows(consent_rows, item_rows, audit_rows)
    _flush_rows(consent_rows, item_rows, audit_rows)
    if db.engine.dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('consent', 'id'), (SELECT max(id) FROM consent))"))
    session.commit()
    return {"students": students, "partners_by_region": partners_by_region, "granted": granted,
            "purposes": purpose_codes, "counts": {
                "consents": n_consents, "students": n_students, "partner_organisations": n_partners,
                "schools": n_schools, "regions": REGIONS,
                "consent_items": session.scalar(select(db.func.count()).select_from(ConsentItem)),
                "background_audit_events": n_consents}}


def _flush_rows(consents: list, items: list, audit: list) -> None:
    if consents:
        db.session.execute(insert(Consent.__table__), consents)
        db.session.execute(insert(ConsentItem.__table__), items)
        db.session.execute(insert(AuditEvent.__table__), audit)
    consents.clear()
    items.clear()
    audit.clear()


def _principal(partner: tuple[int, int, OrganisationType], n: int) -> Principal:
    acting = Acting(membership_id=n, organisation_id=partner[0], organisation_name=f"Partner {partner[0]}",
                    organisation_type=partner[2], region_id=partner[1], role=Role.partner_staff)
    return Principal(account_id=1_000_000 + n, name=f"Medewerker {n}", acting=acting, memberships=(acting,),
                     permissions=permissions_for(Role.partner_staff), channel="web")


class _Statements:
    def __init__(self):
        self.seen: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))

    def split(self) -> tuple[int, int]:
        inserts = sum(1 for s, _p in self.seen if s.lstrip().upper().startswith("INSERT"))
        return len(self.seen) - inserts, inserts


def _explain(statement: str, parameters) -> str:
    dialect = db.engine.dialect.name
    prefix = "EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(" ".join(str(v) for v in row) if dialect == "sqlite" else str(row[0]) for row in rows)


def _measure_decide(seeded: dict, rng: random.Random, listener: _Statements) -> dict:
    session = db.session
    students = seeded["students"]
    granted = seeded["granted"]
    # half the decisions where a consent exists, half for a random partner of the region
    cases = []
    for n in range(DECISIONS):
        if n % 2 == 0 and granted:
            s_index, partner, code = granted[(n // 2) % len(granted)]
        else:
            s_index = rng.randrange(len(students))
            partner = rng.choice(seeded["partners_by_region"][students[s_index][2]])
            code = rng.choice(seeded["purposes"])
        cases.append((s_index, partner, code))
    wanted = {students[s][0] for s, _p, _c in cases}
    loaded = {s.id: s for s in session.scalars(select(Student).where(Student.id.in_(wanted)))}
    principals: dict[int, Principal] = {}
    timings, with_flush, selects, inserts, allowed = [], [], [], [], 0
    plans: dict[str, str] = {}
    for n, (s_index, partner, code) in enumerate(cases):
        student = loaded[students[s_index][0]]
        principal = principals.setdefault(partner[0], _principal(partner, len(principals)))
        listener.seen.clear()
        started = time.perf_counter()
        decision = decide(session, principal, student, code, list(Category))
        decided = time.perf_counter()
        session.flush()  # the audit event's INSERT
        flushed = time.perf_counter()
        timings.append((decided - started) * 1000)
        with_flush.append((flushed - started) * 1000)
        n_select, n_insert = listener.split()
        selects.append(n_select)
        inserts.append(n_insert)
        allowed += bool(decision.allowed)
        if n == 0:
            for statement, parameters in list(listener.seen):
                if "FROM consent " in statement or "FROM consent\n" in statement:
                    plans["consent lookup"] = _explain(statement, parameters)
                elif "consent_legal_task" in statement:
                    plans["legal tasks"] = _explain(statement, parameters)
        if n % 200 == 199:
            session.commit()
            # reload the expired students outside the timing: a request loads the student
            # (get_student) before it decides, and that load is not part of the decision
            session.scalars(select(Student).where(Student.id.in_(wanted))).all()
    session.commit()
    warm = timings[100:]  # the first decisions warm the statement caches
    warm_flush = with_flush[100:]
    return {"decisions": len(cases), "allowed": allowed, "denied": len(cases) - allowed,
            "select_statements_max": max(selects), "select_statements_mean": statistics.mean(selects),
            "insert_statements_max": max(inserts),
            "p50_ms": statistics.median(warm), "p95_ms": _pct(warm, 0.95), "max_ms": max(warm),
            "with_audit_flush_p50_ms": statistics.median(warm_flush),
            "with_audit_flush_p95_ms": _pct(warm_flush, 0.95), "plans": plans}


def _seed_access_log(rng: random.Random, seeded: dict):
    """One student with an account and 10,000 audit events by partners of the region."""
    from tests.factories import make_member

    session = db.session
    sid, school_id, region_id = seeded["students"][0]
    school = session.get(Organisation, school_id)
    account = make_member(Role.student, school)
    student = session.get(Student, sid)
    student.account_id = account.id
    session.commit()
    partners = seeded["partners_by_region"][region_id]
    now = utcnow()
    rows = []
    for n in range(LOG_EVENTS):
        partner = partners[n % len(partners)]
        rows.append({"occurred_at": now - dt.timedelta(minutes=n * 7 + rng.randrange(5)), "action": "R",
                     "event_type": "consent:shared-view", "outcome": rng.choice(["success"] * 4 + ["denied"]),
                     "account_id": 2_000_000 + n % 50, "account_name": f"Medewerker {n % 50}",
                     "role": "partner_staff", "organisation_id": partner[0],
                     "organisation_name": f"Partner {partner[0]}", "purpose": rng.choice(seeded["purposes"]),
                     "object_type": "student", "object_id": str(sid), "student_id": str(sid),
                     "basis": f"consent:{n}"})
    for chunk in _chunks(rows):
        session.execute(insert(AuditEvent.__table__), chunk)
    session.commit()
    return account, sid


def _measure_access_log(app, account, student_id, listener: _Statements) -> dict:
    from tests.factories import login

    client = app.test_client()
    login(client, account)
    url = f"/mijn-gegevens/inzage?leerling={student_id}"
    timings, statements = [], []
    plan = ""
    for n in range(PAGE_VIEWS + 10):
        listener.seen.clear()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        html = response.get_data(as_text=True)
        assert "Oudere" in html  # 25 of the 10,000 events, with a link to the next page
        if n >= 10:
            timings.append(elapsed)
            statements.append(len(listener.seen))
        if n == 0:
            for statement, parameters in list(listener.seen):
                if "FROM audit_event" in statement and "ORDER BY" in statement:
                    plan = _explain(statement, parameters)
    older = client.get(url)  # the second page, by cursor, once
    return {"views": PAGE_VIEWS, "events_of_student": LOG_EVENTS, "p50_ms": statistics.median(timings),
            "p95_ms": _pct(timings, 0.95), "max_ms": max(timings), "statements_per_request": max(statements),
            "plans": {"access log page": plan}, "older_page_status": older.status_code}


def _write_results(report: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(exist_ok=True)
    stem = f"consent-{report['database']}-{report['date']}"
    if FACTOR != 0.1:  # keep the default run's figures next to a bigger (or smaller) one
        stem += f"-factor{FACTOR:g}"
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    d, log = report["decide"], report["access_log"]
    lines = [
        f"# Consent benchmark — {report['database']} — {report['date']}", "",
        f"Factor {report['factor']} of the DESIGN.md size: " + ", ".join(
            f"{value:,} {name.replace('_', ' ')}" for name, value in report["counts"].items()) + ".",
        (f"Seeding took {report['seed_seconds']:.1f} s (bulk Core inserts). Python {report['python']}, "
         f"{report['machine']}."), "",
        "| measure | figure | target |", "|---|---|---|",
        f"| `decide`: SQL SELECTs per decision (max) | {d['select_statements_max']} | ≤ 2 |",
        f"| `decide`: audit INSERTs per decision (max) | {d['insert_statements_max']} | 1 |",
        f"| `decide` p50 / p95 | {d['p50_ms']:.3f} / {d['p95_ms']:.3f} ms | p95 ≤ 2 ms |",
        (f"| `decide` + audit flush p50 / p95 | {d['with_audit_flush_p50_ms']:.3f} / "
         f"{d['with_audit_flush_p95_ms']:.3f} ms | — |"),
        f"| decisions allowed / denied | {d['allowed']} / {d['denied']} | — |",
        (f"| \"Wie heeft mijn gegevens bekeken\" ({log['events_of_student']:,} events) p50 / p95 | "
         f"{log['p50_ms']:.1f} / {log['p95_ms']:.1f} ms | p95 ≤ 50 ms |"),
        f"| that page: SQL statements per request | {log['statements_per_request']} | — |", "",
        "## Query plans", ""]
    for name, plan in {**d["plans"], **log["plans"]}.items():
        lines += [f"### {name}", "", "```", plan, "```", ""]
    md_path.write_text("\n".join(lines))
    return json_path, md_path


def test_consent_speed(app, app_ctx):
    rng = random.Random(4)
    started = time.perf_counter()
    seeded = _seed(rng)
    account, student_id = _seed_access_log(rng, seeded)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    seed_seconds = time.perf_counter() - started
    listener = _Statements()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        decide_figures = _measure_decide(seeded, rng, listener)
        log_figures = _measure_access_log(app, account, student_id, listener)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    report = {"database": db.engine.dialect.name, "date": clock.today().isoformat(), "factor": FACTOR,
              "counts": seeded["counts"], "seed_seconds": seed_seconds, "python": platform.python_version(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "targets": TARGETS,
              "decide": decide_figures, "access_log": log_figures}
    json_path, md_path = _write_results(report)
    print(f"\n{md_path.read_text()}\nwritten: {json_path}, {md_path}")
    # machine-independent: the statement budget and the use of the indexes
    assert decide_figures["select_statements_max"] <= TARGETS["decide_statements"]
    assert decide_figures["insert_statements_max"] == 1
    plans = {**decide_figures["plans"], **log_figures["plans"]}
    assert "ix_consent_lookup" in plans["consent lookup"], plans["consent lookup"]
    assert "ix_audit_event_student_time" in plans["access log page"], plans["access log page"]
