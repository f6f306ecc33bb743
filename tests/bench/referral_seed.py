"""Synthetic referrals at national scale for tests/bench/test_referral_speed.py.

Factor 1 = 1,000,000 referrals of 200,000 students in 40 regions: per region a gemeente (80 %
of the region's referrals) and an RMC (20 %) receive them, ~500 schools send them. Loaded with
``COPY`` on PostgreSQL and Core executemany on SQLite (:func:`tests.bench.harness.seed.bulk`),
chunk by chunk, so memory stays flat.

Realistic shape: ids follow ``created_at`` (three years back); the status depends on the age
(new ones requested, recent ones accepted / in progress, old ones closed); every sent referral
has its events (created, sent, answered, the current status), a hand-over packet and, for the
gemeente, the student's consent for the purpose (85 % active, 10 % withdrawn with the packet
wiped, 5 % expired); the RMC works on its legal task. The deadline stamps are as an hourly job
leaves them: most overdue referrals reminded (and escalated), most stale in-progress ones
nudged, a fresh slice of each still to do. Packets hold real AES-GCM content only for the
referrals the benchmark opens (``Seeded.detail_ids``); the rest carry a placeholder that is
never decrypted (encrypting a million packets would only measure the seeding).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from network import clock
from network.clock import utcnow
from network.db import db
from tests.bench.harness.seed import FIRST, LAST, bulk

FULL_REFERRALS, FULL_STUDENTS, REGIONS = 1_000_000, 200_000, 40
CHUNK = 50_000
DAYS_BACK = 3 * 365
GEMEENTE_PURPOSES = ("jobcoaching", "begeleiding-naar-werk")
CATEGORIES = "contactgegevens ondersteuningsbehoefte opleiding"
STAFF_PER_RECEIVER = 5
#: referrals of the measured organisation whose packet is really encrypted (the detail runs)
DETAIL_SAMPLE = 80

#: (age in days up to, [(status, weight)]): what a referral of that age has become
BY_AGE = (
    (7, [("draft", 10), ("requested", 70), ("accepted", 10), ("rejected", 5), ("cancelled", 5)]),
    (60, [("requested", 6), ("accepted", 20), ("in-progress", 45), ("on-hold", 5), ("rejected", 10),
          ("cancelled", 5), ("completed", 7), ("failed", 2)]),
    (365, [("requested", 0.5), ("in-progress", 20), ("on-hold", 4), ("completed", 50), ("failed", 8),
           ("rejected", 10), ("cancelled", 6), ("entered-in-error", 1.5)]),
    (None, [("completed", 65), ("failed", 10), ("rejected", 12), ("cancelled", 10), ("entered-in-error", 3)]),
)
REASONED = {"rejected", "cancelled", "on-hold", "failed", "entered-in-error"}
TERMINAL = {"rejected", "completed", "failed", "cancelled", "entered-in-error"}
OUTCOMES = ("werk", "werk", "opleiding", "stage", "andere_hulp", "geen_contact")


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: (organisation id, region id, type) of the measured receivers: the biggest gemeente, an RMC
    gemeente: tuple[int, int, str] = (0, 0, "gemeente")
    rmc: tuple[int, int, str] = (0, 0, "rmc")
    staff: dict[int, list[int]] = field(default_factory=dict)
    detail_ids: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([s for s, _w in table], weights=[w for _s, w in table])[0]


def _status_for(rng: random.Random, age_days: float) -> str:
    for limit, table in BY_AGE:
        if limit is None or age_days <= limit:
            return _pick(rng, table)
    raise AssertionError


def seed(app, factor: float, *, seed_value: int = 5) -> Seeded:
    """Fill the freshly migrated database of ``app``. Returns what the measurements need."""
    import time

    from consent.catalogue import seed_catalogues
    from socialmap.entries import ensure_default_categories

    rng = random.Random(seed_value)
    keyring = app.extensions["schakel.keyring"]
    out = Seeded()
    now, today = utcnow(), clock.today()
    n_referrals = max(1_000, round(FULL_REFERRALS * factor))
    n_students = max(200, round(FULL_STUDENTS * factor))
    n_schools = max(REGIONS, round(500 * max(factor, 0.1)))
    seed_catalogues(db.session)
    ensure_default_categories(db.session)
    db.session.commit()
    purposes = dict(db.session.execute(text("SELECT code, id FROM consent_purpose")).all())
    started = time.perf_counter()
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        bulk(conn, "region", [{"id": i + 1, "name": f"Regio {i + 1}", "code": f"regio-{i + 1}", "created_at": now}
                              for i in range(REGIONS)])
        orgs, schools, receivers = [], [], {}  # receivers: region -> [(org id, type, weight)]

        def org(region_id: int, kind: str, name: str, brin: str | None = None) -> int:
            orgs.append({"id": len(orgs) + 1, "region_id": region_id, "name": name, "type": kind, "brin": brin,
                         "email": f"o{len(orgs) + 1}@bench.example", "is_active": True, "created_at": now,
                         "version": 1})
            return len(orgs)

        for i in range(n_schools):
            region = i % REGIONS + 1
            schools.append((org(region, "school", f"School {i + 1}", f"{i:04d}RB"), region))
        hubs = {}
        for region in range(1, REGIONS + 1):
            receivers[region] = [(org(region, "gemeente", f"Gemeente {region}"), "gemeente", 0.8),
                                 (org(region, "rmc", f"RMC {region}"), "rmc", 0.2)]
            hubs[region] = org(region, "hub", f"Regionaal hub {region}")
        bulk(conn, "organisation", orgs)
        accounts, memberships = [], []

        def account(org_id: int, role: str) -> int:
            n = len(accounts) + 1
            accounts.append({"id": n, "email": f"a{n}@bench.example", "name": f"Medewerker {n}",
                             "password_hash": None, "is_active": True, "failed_logins": 0, "created_at": now,
                             "version": 1})
            memberships.append({"id": n, "account_id": n, "organisation_id": org_id, "role": role,
                                "created_at": now})
            return n

        mentors = {school_id: account(school_id, "mentor") for school_id, _r in schools}
        for region, found in receivers.items():
            for org_id, _kind, _w in found:
                out.staff[org_id] = [account(org_id, "partner_staff") for _ in range(STAFF_PER_RECEIVER)]
            account(hubs[region], "coordinator")
        bulk(conn, "account", accounts)
        bulk(conn, "membership", memberships)
        services, service_of = [], {}
        for found in receivers.values():
            for org_id, kind, _w in found:
                service_of[org_id] = []
                for k in range(2):
                    sid = len(services) + 1
                    services.append({"id": sid, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
                                     "organisation_id": org_id, "name": f"{kind.title()} dienst {k + 1}",
                                     "description": "Begeleiding naar werk", "status": "active",
                                     "keywords": "werk", "is_internal": False, "sbb_recognised": False,
                                     "response_days": 5, "verified_at": now, "created_at": now, "updated_at": now,
                                     "version": 1})
                    service_of[org_id].append(sid)
        bulk(conn, "socialmap_service", services)
        students = []
        for _ in range(n_students):
            school_id, region = rng.choice(schools)
            students.append((uuid.UUID(int=rng.getrandbits(128), version=4), school_id, region))
        bulk(conn, "student", ({"id": sid, "school_id": school_id, "first_name": rng.choice(FIRST),
                                "last_name": rng.choice(LAST),
                                "date_of_birth": today - dt.timedelta(days=6500 + k % 900),
                                "level": "mbo2", "expected_exit_date": today + dt.timedelta(days=k % 700 - 200),
                                "created_at": now, "updated_at": now, "version": 1}
                               for k, (sid, school_id, _r) in enumerate(students)))
        out.counts.update(regions=REGIONS, schools=n_schools, receiving_organisations=2 * REGIONS,
                          services=len(services), accounts=len(accounts), students=n_students)
        out.seconds["world"] = time.perf_counter() - started
        # the measured gemeente: region 1's (it gets 1/40 × 80 % of all referrals, like every gemeente)
        out.gemeente = (receivers[1][0][0], 1, "gemeente")
        out.rmc = (receivers[1][1][0], 1, "rmc")
        step = time.perf_counter()
        made = seed_referrals(conn, rng, keyring, count=n_referrals, students=students, receivers=receivers,
                              service_of=service_of, mentors=mentors, staff=out.staff, purposes=purposes,
                              measured_id=out.gemeente[0], now=now, today=today)
        out.detail_ids, statuses, counters = made.detail_ids, made.statuses, made.counts
        out.seconds["referrals"] = time.perf_counter() - step
        out.counts.update(referrals=n_referrals, **counters)
        out.statuses = statuses
        if conn.dialect.name == "postgresql":
            for table in ("region", "organisation", "account", "membership", "socialmap_service", "referral",
                          "consent", "referral_packet", "referral_event"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {table}))")
    step = time.perf_counter()
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    out.seconds["analyze"] = time.perf_counter() - step
    return out


OPEN_STATUSES = {"requested", "accepted", "in-progress", "on-hold"}


@dataclass
class ReferralSet:
    """What :func:`seed_referrals` made: row counts, referrals per status, and the measured
    receiver's referrals whose packet is really encrypted (open, with an active consent)."""

    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    detail_ids: list[int] = field(default_factory=list)


def seed_referrals(conn, rng: random.Random, keyring, *, count: int,
                   students: list[tuple[uuid.UUID, int, int]], receivers: dict[int, list[tuple[int, str, float]]],
                   service_of: dict[int, list[int]], mentors: dict[int, int], staff: dict[int, list[int]],
                   purposes: dict[str, int], measured_id: int, now: dt.datetime, today: dt.date,
                   first_consent_id: int = 1, detail_sample: int = DETAIL_SAMPLE,
                   detail_chance: float = 0.2, active: set[tuple[str, int, int]] | None = None,
                   on_rows: Callable[[int], None] | None = None) -> ReferralSet:
    """Bulk-load ``count`` referrals (ids 1..count) into an existing world, in the shape the
    module text describes, chunk by chunk. Used by :func:`seed` and by the issue-8 harness
    (tests/bench/harness/seed.py).

    :param students: ``(student id, school id, region id)`` to draw the referred students from
    :param receivers: per region ``[(gemeente id, "gemeente", w), (rmc id, "rmc", w)]``: the
        gemeente gets 80 %, the RMC 20 % of the region's referrals
    :param service_of: per receiver its services (a referral goes to one of them)
    :param mentors: per school the account that sends its referrals
    :param staff: per receiver the accounts that own referrals after an answer
    :param purposes: consent purpose code -> id (a gemeente's referral rests on a consent)
    :param measured_id: the receiver whose open referrals with an active consent get a really
        encrypted packet (``detail_ids``): up to ``detail_sample``, each with ``detail_chance``
    :param first_consent_id: the first free consent id (the consents made here count on from it)
    :param active: ``(str(student id), recipient id, purpose id)`` of the active consents already
        seeded; a consent made here that would be a second active one is seeded expired instead
        (the database keeps one active consent per student, recipient and purpose). The active
        consents made here are added to it.
    :param on_rows: hears the number of referrals of each chunk once it is loaded (progress)
    """
    out = ReferralSet()
    book = _ConsentBook(keyring=keyring, purposes=purposes, active=set() if active is None else active,
                        next_consent=first_consent_id, measured_id=measured_id, detail_sample=detail_sample,
                        detail_chance=detail_chance, detail_ids=out.detail_ids)
    counters = {"referral_events": 0, "referral_packets": 0, "consents": 0, "consent_items": 0}
    statuses = out.statuses
    # creation moments, oldest first, so ids follow time as in production
    ages = sorted((rng.random() ** 1.3 * DAYS_BACK for _ in range(count)), reverse=True)
    for start in range(0, count, CHUNK):
        rows, events, packets = [], [], []
        book.consents, book.items = [], []
        for rid in range(start + 1, min(start + CHUNK, count) + 1):
            drawn = _draw_referral(rng, rid, ages[rid - 1], students=students, receivers=receivers,
                                   service_of=service_of, mentors=mentors, staff=staff, now=now, today=today)
            status = drawn.row["status"]
            statuses[status] = statuses.get(status, 0) + 1
            rows.append(drawn.row)
            events.extend(_referral_events(drawn))
            if drawn.sent:
                packets.append(book.packet(rng, drawn, today))
        bulk(conn, "referral", rows)
        counters["referral_events"] += bulk(conn, "referral_event", events)
        counters["referral_packets"] += bulk(conn, "referral_packet", packets)
        bulk(conn, "consent", book.consents)
        counters["consent_items"] += bulk(conn, "consent_item", book.items)
        if on_rows is not None:
            on_rows(len(rows))
    counters["consents"] = book.made
    out.counts = counters
    out.statuses = dict(sorted(statuses.items(), key=lambda kv: -kv[1]))
    return out


@dataclass
class _Drawn:
    """One referral as drawn: its row, the kind of receiver, and the moments its events need."""

    row: dict[str, Any]
    kind: str
    created: dt.datetime
    sent: dt.datetime | None
    answered: dt.datetime | None
    changed: dt.datetime
    last_event: dt.datetime


def _draw_referral(rng: random.Random, rid: int, age: float, *, students, receivers, service_of, mentors, staff,
                   now: dt.datetime, today: dt.date) -> _Drawn:
    """The row of referral ``rid``, ``age`` days old: receiver, status and its moments drawn."""
    created = now - dt.timedelta(days=age)
    sid, school_id, region = rng.choice(students)
    to_org, kind, _w = receivers[region][0] if rng.random() < 0.8 else receivers[region][1]
    purpose = rng.choice(GEMEENTE_PURPOSES) if kind == "gemeente" else "rmc-nazorg"
    status = _status_for(rng, age)
    sent = None if status == "draft" else created + dt.timedelta(minutes=rng.randint(5, 600))
    changed = created if sent is None else sent
    answered = None
    if status not in ("draft", "requested"):
        answered = sent + dt.timedelta(hours=rng.randint(2, 24 * 9))
        changed = answered
        if status not in ("accepted", "rejected") or rng.random() < 0.1:
            changed = min(now - dt.timedelta(hours=1),
                          answered + dt.timedelta(days=rng.uniform(1, max(2.0, age * 0.8))))
    response_due = (sent.date() + dt.timedelta(days=7)) if sent else None
    owner = rng.choice(staff[to_org]) if answered and rng.random() < 0.9 else None
    row = {"id": rid, "student_id": sid, "route_id": None, "from_organisation_id": school_id,
           "from_account_id": mentors[school_id], "from_name": "Mentor", "to_organisation_id": to_org,
           "service_id": rng.choice(service_of[to_org]), "purpose": purpose,
           "type": "rmc" if kind == "rmc" else "transitieroute", "status": status,
           "status_reason": "Reden" if status in REASONED else None, "status_changed_at": changed,
           "outcome": rng.choice(OUTCOMES) if status == "completed" else None,
           "categories": CATEGORIES, "details_encrypted": None, "client_token": None,
           "owner_account_id": owner, "sent_at": sent, "response_due": response_due,
           "answered_at": answered, "closed_at": changed if status in TERMINAL else None,
           "reminder_sent_at": None, "escalated_at": None, "nudged_at": None,
           "handover_on": None, "handover_present": None, "handover_confirmed_at": None,
           "created_at": created, "updated_at": changed, "version": 1}
    if status == "requested" and response_due < today and rng.random() < 0.9:
        # the hourly job reminded it; two working days later it escalated
        row["reminder_sent_at"] = dt.datetime.combine(response_due + dt.timedelta(days=1), dt.time(8),
                                                      dt.UTC)
        if response_due < today - dt.timedelta(days=4) and rng.random() < 0.9:
            row["escalated_at"] = row["reminder_sent_at"] + dt.timedelta(days=3)
    if status in ("in-progress", "on-hold") or (status in TERMINAL and answered and status != "rejected"):
        row["handover_on"] = answered.date() + dt.timedelta(days=3)
        row["handover_present"] = "Leerling, mentor, jobcoach"
        row["handover_confirmed_at"] = answered + dt.timedelta(days=3)
    last_event = changed
    if status == "in-progress" and changed < now - dt.timedelta(days=30):
        if rng.random() < 0.7:  # an update now and then
            last_event = changed + dt.timedelta(days=rng.uniform(0, (now - changed).days))
        if rng.random() < 0.95 and last_event < now - dt.timedelta(days=28):
            row["nudged_at"] = last_event + dt.timedelta(days=28)
    return _Drawn(row=row, kind=kind, created=created, sent=sent, answered=answered, changed=changed,
                  last_event=last_event)


def _referral_events(drawn: _Drawn) -> list[dict[str, Any]]:
    """The events of a drawn referral, oldest first: created, sent, answered, its last change."""
    rid, status = drawn.row["id"], drawn.row["status"]
    events: list[dict[str, Any]] = []

    def event(kind_: str, at, from_status=None, to_status=None, reason=None):
        events.append({"referral_id": rid, "kind": kind_, "at": at, "from_status": from_status,
                       "to_status": to_status, "reason": reason, "internal_to": None,
                       "actor_account_id": None, "actor_name": "Bench"})

    event("created", drawn.created, to_status="draft")
    if drawn.sent:
        event("transition", drawn.sent, "draft", "requested")
    if drawn.answered:
        first = "rejected" if status == "rejected" else "accepted"
        event("transition", drawn.answered, "requested", first)
        if status not in ("accepted", "rejected"):
            event("transition", drawn.changed, "accepted" if status != "on-hold" else "in-progress", status,
                  "Reden" if status in REASONED else None)
    if drawn.last_event != drawn.changed:
        event("update", drawn.last_event)
    if drawn.row["nudged_at"]:
        event("nudge", drawn.row["nudged_at"])
    return events


@dataclass
class _ConsentBook:
    """The consents :func:`seed_referrals` makes for a gemeente's packets (one active consent per
    student, receiver and purpose), and the current chunk's consent rows and items."""

    keyring: Any
    purposes: dict[str, int]
    #: ``(str(student id), recipient id, purpose id)`` of every active consent, the caller's too
    active: set[tuple[str, int, int]]
    next_consent: int
    measured_id: int
    detail_sample: int
    detail_chance: float
    detail_ids: list[int]
    made: int = 0
    #: (student, receiver, purpose) -> its active consent made here
    active_consent: dict[tuple[Any, int, str], int] = field(default_factory=dict)
    consents: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)

    def packet(self, rng: random.Random, drawn: _Drawn, today: dt.date) -> dict[str, Any]:
        """The packet of a sent referral, on a consent (gemeente) or the RMC's legal task."""
        row, kind = drawn.row, drawn.kind
        rid, sid, to_org, purpose, sent = (row["id"], row["student_id"], row["to_organisation_id"], row["purpose"],
                                           drawn.sent)
        consent_state = rng.random()
        withdrawn = kind == "gemeente" and 0.85 <= consent_state < 0.95
        packet = {"referral_id": rid, "student_id": sid, "recipient_id": to_org,
                  "categories": CATEGORIES, "basis": "", "created_at": sent,
                  "content_encrypted": None if withdrawn else "bench-placeholder",
                  "withdrawn_at": sent + dt.timedelta(days=20) if withdrawn else None,
                  "withdrawn_reason": "withdrawn" if withdrawn else None}
        key = (sid, to_org, purpose)
        if kind == "gemeente" and consent_state < 0.85 and key in self.active_consent:
            # the hub keeps one valid consent per organisation and purpose (consent.service
            # refuses a second): a later referral rests on the same one
            packet["basis"] = f"consent:{self.active_consent[key]}"
        elif kind == "gemeente":
            cid = self._consent(rng, drawn, consent_state, withdrawn, packet, today)
            packet["basis"] = f"consent:{cid}"
        else:
            packet["basis"] = "legal_task:rmc-nazorg"
        return packet

    def _consent(self, rng: random.Random, drawn: _Drawn, consent_state: float, withdrawn: bool,
                 packet: dict[str, Any], today: dt.date) -> int:
        """A new consent (with its items) for a gemeente's packet; the measured receiver's open
        referrals on an active one may get a really encrypted packet."""
        row, sent = drawn.row, drawn.sent
        rid, sid, to_org, purpose, status = (row["id"], row["student_id"], row["to_organisation_id"],
                                             row["purpose"], row["status"])
        cid = self.next_consent
        self.next_consent += 1
        self.made += 1
        status_c = "active" if consent_state < 0.85 else ("withdrawn" if withdrawn else "expired")
        if status_c == "active" and (str(sid), to_org, self.purposes[purpose]) in self.active:
            status_c = "expired"  # the student already has an active one from the caller's seed
        if status_c == "active":
            self.active_consent[(sid, to_org, purpose)] = cid
            self.active.add((str(sid), to_org, self.purposes[purpose]))
        valid_from = sent.date() - dt.timedelta(days=1)
        valid_until = (max(valid_from, today - dt.timedelta(days=3)) if status_c == "expired"
                       else valid_from + dt.timedelta(days=3 * 365 + 30))
        self.consents.append({"id": cid, "student_id": sid, "recipient_id": to_org,
                              "purpose_id": self.purposes[purpose], "status": status_c,
                              "valid_from": valid_from, "valid_until": valid_until,
                              "given_by": "student", "channel": "portal", "text_version": "v1",
                              "text_hash": "0" * 64, "recorded_by_name": "Bench", "given_at": sent,
                              "withdrawn_at": packet["withdrawn_at"], "expired_at": None})
        for category in CATEGORIES.split():
            self.items.append({"consent_id": cid, "category": category,
                               "explicit": category == "ondersteuningsbehoefte"})
        if (to_org == self.measured_id and status_c == "active" and status in OPEN_STATUSES
                and len(self.detail_ids) < self.detail_sample and rng.random() < self.detail_chance):
            self.detail_ids.append(rid)
            packet["content_encrypted"] = _packet_content(self.keyring, rid, sid)
        return cid

def _packet_content(keyring, referral_id: int, student_id: uuid.UUID) -> str:
    from network.crypto import FieldRef

    content = {"referrer": {"name": "Mentor", "organisation": "School", "email": ""},
               "categories": CATEGORIES.split(),
               "contactgegevens": {"name": f"Leerling {student_id.hex[:6]}", "email": "", "phone": ""},
               "opleiding": {"school": "School", "level": "mbo2"},
               "ondersteuningsbehoefte": {"reason": "Zoekt werk met begeleiding", "life_domains": {}}}
    return keyring.encrypt(json.dumps(content), FieldRef("referral_packet", "content", str(referral_id)))


__all__ = ["Seeded", "seed"]
