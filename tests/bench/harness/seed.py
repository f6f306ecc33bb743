"""Synthetic national dataset, scaled by a factor, bulk-loaded.

Factor 1 = 40 regions, 20,000 services, 200,000 students, 2,000,000 consents, 10,000,000 audit
events (DESIGN.md, issue 8). Referrals are not seeded: that feature does not exist yet.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, text

from network.crypto import FieldRef
from network.db import db, utcnow

FULL = {"regions": 40, "services": 20_000, "students": 200_000, "consents": 2_000_000,
        "referrals": 1_000_000, "audit_events": 10_000_000}
PASSWORD = "bench-wachtwoord-8f3k2"
LOAD_ACCOUNTS = 8
CHUNK = 20_000

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


def seed(app, factor: float, *, bsn_fraction: float = 0.01, seed_value: int = 8,
         login_accounts: int = 600) -> Seeded:
    """Fill the (freshly migrated, empty) database of ``app``. Returns what the load needs."""
    import time

    rng = random.Random(seed_value)
    n = scaled(factor)
    out = Seeded()
    keyring = app.extensions["schakel.keyring"]
    hasher = app.extensions["schakel.hasher"]
    now = utcnow()
    today = now.date()
    have_socialmap = _have_socialmap()

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")  # this loading connection only
            step = time.perf_counter()
            # -- regions and organisations ------------------------------------------------------
            regions = [{"id": i + 1, "name": f"Regio {i + 1}", "code": f"regio-{i + 1}", "created_at": now}
                       for i in range(n["regions"])]
            bulk(conn, "region", regions)
            n_schools = max(2, round(500 * factor))
            orgs: list[dict[str, Any]] = []
            schools: list[dict[str, Any]] = []
            partners_by_region: dict[int, list[int]] = {}
            for i in range(n_schools):
                org = {"id": len(orgs) + 1, "region_id": regions[i % len(regions)]["id"], "name": f"School {i + 1}",
                       "type": "school", "brin": f"{i:04d}XB"[:6], "gemeente": "Waalstede", "is_active": True,
                       "created_at": now, "version": 1}
                orgs.append(org)
                schools.append(org)
            partner_types = ["gemeente", "gemeente", "gemeente", "uwv", "rmc", "wsp", "werkgever", "werkgever",
                             "zorg", "mee"]
            for region in regions:
                for j, kind in enumerate(partner_types):
                    org = {"id": len(orgs) + 1, "region_id": region["id"], "name": f"{kind.title()} {j + 1}",
                           "type": kind, "gemeente": "Waalstede", "is_active": True, "created_at": now,
                           "version": 1, "email": f"{kind}{j}.r{region['id']}@bench.example"}
                    orgs.append(org)
                    partners_by_region.setdefault(region["id"], []).append(org["id"])
            provider_ids = []
            for k in range(max(1, n["services"] // 5) if have_socialmap else 0):
                org = {"id": len(orgs) + 1, "region_id": regions[k % len(regions)]["id"],
                       "name": f"Aanbieder {k + 1}", "type": rng.choice(["gemeente", "werkgever", "zorg", "mee"]),
                       "gemeente": "Waalstede", "is_active": True, "created_at": now, "version": 1}
                orgs.append(org)
                provider_ids.append(org["id"])
            bulk(conn, "organisation", ({"brin": None, "email": None, **o} for o in orgs))
            out.counts["regions"], out.counts["organisations"] = len(regions), len(orgs)

            # -- accounts: load users (one hash, reused) and a few staff per school -------------
            password_hash = hasher.hash(PASSWORD)
            school_weights = _lognormal_weights(rng, len(schools), 0.6)
            student_school = rng.choices(schools, cum_weights=school_weights, k=n["students"])
            sizes: dict[int, int] = {}
            for school in student_school:
                sizes[school["id"]] = sizes.get(school["id"], 0) + 1
            load_school = max(schools, key=lambda s: sizes.get(s["id"], 0))
            out.load_school_id = load_school["id"]
            accounts, memberships = [], []

            def account(email: str, org_id: int, role: str) -> None:
                accounts.append({"id": len(accounts) + 1, "email": email, "name": email.split("@")[0],
                                 "password_hash": password_hash, "is_active": True, "failed_logins": 0,
                                 "created_at": now, "version": 1})
                memberships.append({"account_id": len(accounts), "organisation_id": org_id, "role": role,
                                    "created_at": now})

            for k in range(LOAD_ACCOUNTS):
                out.load_emails.append(f"bench-staff-{k}@bench.example")
                account(out.load_emails[-1], load_school["id"], "zorgcoordinator")
            # one account per login attempt: concurrent logins of one account collide on its version
            for k in range(login_accounts):
                out.login_emails.append(f"bench-login-{k}@bench.example")
                account(out.login_emails[-1], load_school["id"], "mentor")
            for school in schools:
                for k, role in enumerate(("mentor", "mentor", "decaan", "bpv_begeleider", "zorgcoordinator")):
                    account(f"{role}{k}.s{school['id']}@bench.example", school["id"], role)
            for ids in partners_by_region.values():
                for org_id in ids:
                    account(f"partner.o{org_id}@bench.example", org_id, "partner_staff")
            bulk(conn, "account", accounts)
            bulk(conn, "membership", ({"id": i + 1, **m} for i, m in enumerate(memberships)))
            out.counts["accounts"] = len(accounts)
            out.seconds["organisations_accounts"] = time.perf_counter() - step

            # -- students ------------------------------------------------------------------------
            step = time.perf_counter()
            student_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n["students"])]
            bsn_count = 0

            def students() -> Iterator[dict[str, Any]]:
                nonlocal bsn_count
                levels = ["entree", "mbo2", "mbo3", "mbo4", "pro", "vso"]
                for sid, school in zip(student_ids, student_school):
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

            out.counts["students"] = bulk(conn, "student", students())
            out.counts["students_with_bsn"] = bsn_count
            out.seconds["students"] = time.perf_counter() - step
            load_students = [str(sid) for sid, school in zip(student_ids, student_school)
                             if school["id"] == load_school["id"]]
            out.student_ids = load_students[:2000]

            # -- consents (and their per-category items) -----------------------------------------
            step = time.perf_counter()
            needed: dict[int, list[str]] = {}
            for pid, cat in conn.execute(text("SELECT purpose_id, category FROM consent_purpose_category")):
                needed.setdefault(pid, []).append(cat)
            special = {code for (code,) in conn.execute(text(
                "SELECT code FROM consent_data_category WHERE is_special"))}
            student_weights = _lognormal_weights(rng, len(student_ids), 1.0)
            region_of_school = {s["id"]: s["region_id"] for s in schools}
            load_index = {sid for sid in load_students}
            text_hash = hashlib.sha256(b"bench consent text v1").hexdigest()
            items: list[dict[str, Any]] = []

            def consents() -> Iterator[dict[str, Any]]:
                chosen = rng.choices(range(len(student_ids)), cum_weights=student_weights, k=n["consents"])
                for cid, index in enumerate(chosen, 1):
                    school_id = student_school[index]["id"]
                    pid = rng.choice(list(needed))
                    roll = rng.random()
                    status = "active" if roll < 0.85 else ("withdrawn" if roll < 0.95 else "expired")
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
                           "recipient_id": rng.choice(partners_by_region[region_of_school[school_id]]),
                           "purpose_id": pid, "status": status, "valid_from": start, "valid_until": until,
                           "given_by": "student", "channel": "portal", "text_version": "v1", "text_hash": text_hash,
                           "recorded_by_name": "Bench", "given_at": given,
                           "withdrawn_at": given + dt.timedelta(days=30) if status == "withdrawn" else None,
                           "withdrawn_by_name": "Bench" if status == "withdrawn" else None,
                           "expired_at": now if status == "expired" else None}

            out.counts["consents"] = bulk(conn, "consent", consents())
            out.counts["consent_items"] = bulk(conn, "consent_item", items)
            items.clear()
            rng.shuffle(out.withdraw_consent_ids)
            out.count_consent_ids = out.withdraw_consent_ids[:4]
            out.withdraw_consent_ids = out.withdraw_consent_ids[4:]
            out.seconds["consents"] = time.perf_counter() - step

            # -- sociale kaart -------------------------------------------------------------------
            if have_socialmap:
                step = time.perf_counter()
                out.counts["services"] = _seed_services(conn, rng, n["services"], provider_ids, now)
                out.seconds["services"] = time.perf_counter() - step

            # -- audit events (unsealed; the harness seals and verifies them) ---------------------
            step = time.perf_counter()
            staff = [(a["id"], a["name"], m["organisation_id"], m["role"]) for a, m in zip(accounts, memberships)]
            cum_types = list(itertools.accumulate(w for *_, w in EVENT_TYPES))
            span = dt.timedelta(days=730)
            total_events = n["audit_events"]

            def events() -> Iterator[dict[str, Any]]:
                start = now - span
                for i in range(total_events):
                    event_type, action, _w = rng.choices(EVENT_TYPES, cum_weights=cum_types)[0]
                    account_id, name, org_id, role = rng.choice(staff)
                    index = rng.choices(range(len(student_ids)), cum_weights=student_weights)[0] \
                        if event_type != "auth:login" and event_type != "socialmap:service:update" else None
                    sid = str(student_ids[index]) if index is not None else None
                    yield {"occurred_at": start + span * (i / total_events), "action": action,
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

            out.counts["audit_events"] = bulk(conn, "audit_event", events())
            out.seconds["audit_events"] = time.perf_counter() - step
            out.counts["referrals"] = 0  # the referrals feature does not exist yet

            if conn.dialect.name == "postgresql":
                for table in ("region", "organisation", "account", "membership", "consent", "socialmap_service"):
                    if table in db.metadata.tables:
                        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                             f"(SELECT coalesce(max(id), 1) FROM {table}))")
        step = time.perf_counter()
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        out.seconds["analyze"] = time.perf_counter() - step
        engine.dispose()
    return out


def _have_socialmap() -> bool:
    try:
        import socialmap.models  # noqa: F401
    except ImportError:
        return False
    return "socialmap_service" in db.metadata.tables


def _seed_services(conn, rng: random.Random, count: int, provider_ids: list[int], now: dt.datetime) -> int:
    """Services with two categories each, vocabulary as in tests/bench/test_socialmap_search.py."""
    from sqlalchemy.orm import Session

    from socialmap.models import service_category
    from socialmap.service import ensure_default_categories

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

    total = bulk(conn, "socialmap_service", services())
    bulk(conn, service_category.name, links)
    return total
