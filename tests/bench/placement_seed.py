"""Synthetic placements at national scale for tests/bench/test_placement_speed.py (issue 19,
"Measured").

Factor 1 = 300,000 placements, about 1,000,000 contacts of the stageprotocol and 200,000
employer's assessments, of 200,000 students (each with a route) at ~500 schools in 40 regions,
at 20,000 employers. Loaded with ``COPY`` on PostgreSQL and Core executemany on SQLite
(:func:`tests.bench.harness.seed.bulk`), chunk by chunk, so memory stays flat.

Realistic shape: start dates over three years back and two months ahead; the kind sets the
length (snuffelstages of one to four weeks, BPV and eindstages of two to six months, leerbanen
up to a year); the status follows the dates (planned before the start, running, a few paused,
completed or ended early after). A placement that started has the protocol's contacts
(:func:`referrals.placements.protocol.schedule`: the two first-day calls, the visit, an
evaluation every six weeks): those past their date mostly recorded, the rest late, most of
them already reminded (and escalated) as the hourly job leaves them, a fresh slice still to do;
a paused or ended placement's open contacts lapsed. Completed placements mostly have a
submitted assessment, running ones near their end a link that is out (some expired or
revoked). Free text is a placeholder that the measured paths never decrypt.

The measured stagebegeleider (``Seeded.mentor``) has :data:`HEAVY` running placements of their
own at the measured school whatever the factor, so their list of contacts due holds more than
one page of 100; the measured links (``Seeded.links``) carry real tokens (only the SHA-256 is
stored, as :func:`referrals.placements.assessment.send_link` stores it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from network import clock
from network.clock import utcnow
from network.db import db
from referrals.placements.assessment_form import ITEMS
from referrals.placements.protocol import schedule
from tests.bench.harness.seed import FIRST, LAST, bulk

FULL_PLACEMENTS, FULL_CONTACTS, FULL_ASSESSMENTS = 300_000, 1_000_000, 200_000
FULL_STUDENTS, FULL_EMPLOYERS, REGIONS = 200_000, 20_000, 40
MENTORS_PER_SCHOOL = 10
CHUNK = 25_000
DAYS_BACK = 3 * 365
#: running placements of the measured stagebegeleider, whatever the factor
HEAVY = 100
#: assessment links of the measured school with a real token (the link page's runs)
LINK_SAMPLE = 80
#: (kind, weight, (shortest, longest) in days)
KINDS = (("snuffelstage", 20, (5, 28)), ("bpv", 45, (42, 140)), ("eindstage", 15, (56, 182)),
         ("plaatsingsstage", 8, (56, 182)), ("leerbaan", 7, (120, 365)), ("proefplaatsing", 5, (14, 60)))
WERKPROCESSEN = ["Bereidt werkzaamheden voor", "Voert taken uit volgens instructie", "Werkt samen met collega's",
                 "Houdt de werkplek schoon en veilig", "Rondt het werk af en meldt het"]
TASK_SCORES = ("not_able", "guided", "independent", "na")
COMPETENCE_SCORES = ("not_shown", "when_directed", "own_initiative", "na")


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    #: the measured school, its stagebegeleider and its zorgcoördinator (account ids)
    school_id: int = 0
    mentor: int = 0
    zorgcoordinator: int = 0
    #: (placement uuid, token) of open assessment links of the measured school
    links: list[tuple[str, str]] = field(default_factory=list)


def _json(conn, value: Any) -> Any:
    """A JSON column's value as bulk() writes it: text for COPY, the object for SQLite."""
    return json.dumps(value) if conn.dialect.name == "postgresql" else value


def _status(rng: random.Random, start: dt.date, end: dt.date, today: dt.date) -> str:
    if start > today:
        return "planned"
    if end < today:
        return "completed" if rng.random() < 0.85 else "ended_early"
    return "paused" if rng.random() < 0.04 else "running"


def seed(app, factor: float, *, seed_value: int = 19) -> Seeded:
    """Fill the freshly migrated database of ``app``. Returns what the measurements need."""
    from consent.catalogue import seed_catalogues
    from socialmap.entries import ensure_default_categories

    rng = random.Random(seed_value)
    out = Seeded()
    now, today = utcnow(), clock.today()
    n_placements = max(1_000, round(FULL_PLACEMENTS * factor))
    n_students = max(500, round(FULL_STUDENTS * factor))
    n_schools = max(REGIONS, round(500 * max(factor, 0.1)))
    n_employers = max(200, round(FULL_EMPLOYERS * factor))
    contact_budget = round(FULL_CONTACTS * factor)
    assessment_budget = round(FULL_ASSESSMENTS * factor)
    seed_catalogues(db.session)
    ensure_default_categories(db.session)
    db.session.commit()
    started = time.perf_counter()
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        bulk(conn, "region", [{"id": i + 1, "name": f"Regio {i + 1}", "code": f"regio-{i + 1}", "created_at": now}
                              for i in range(REGIONS)])
        orgs: list[dict[str, Any]] = []

        def org(region_id: int, kind: str, name: str, brin: str | None = None) -> int:
            orgs.append({"id": len(orgs) + 1, "region_id": region_id, "name": name, "type": kind, "brin": brin,
                         "email": f"o{len(orgs) + 1}@bench.example", "is_active": True, "created_at": now,
                         "version": 1})
            return len(orgs)

        schools = [(org(i % REGIONS + 1, "school", f"School {i + 1}", f"{i:04d}PB"), i % REGIONS + 1)
                   for i in range(n_schools)]
        employers: dict[int, list[int]] = {}
        for k in range(n_employers):
            region = k % REGIONS + 1
            employers.setdefault(region, []).append(org(region, "werkgever", f"Leerbedrijf {k + 1}"))
        bulk(conn, "organisation", orgs)
        accounts, memberships = [], []

        def account(org_id: int, role: str) -> int:
            n = len(accounts) + 1
            accounts.append({"id": n, "email": f"p{n}@bench.example", "name": f"Medewerker {n}",
                             "password_hash": None, "is_active": True, "failed_logins": 0, "created_at": now,
                             "version": 1})
            memberships.append({"id": n, "account_id": n, "organisation_id": org_id, "role": role,
                                "created_at": now})
            return n

        mentors = {school_id: [account(school_id, "mentor") for _ in range(MENTORS_PER_SCHOOL)]
                   for school_id, _r in schools}
        zorg = {school_id: account(school_id, "zorgcoordinator") for school_id, _r in schools}
        bulk(conn, "account", accounts)
        bulk(conn, "membership", memberships)
        out.school_id = schools[0][0]
        out.mentor, out.zorgcoordinator = mentors[out.school_id][0], zorg[out.school_id]
        students = []
        for k in range(n_students):
            # the measured school has its share and the heavy stagebegeleider's students
            school_id, region = schools[0] if k < HEAVY else rng.choice(schools)
            students.append((uuid.UUID(int=rng.getrandbits(128), version=4), school_id, region, k + 1))
        bulk(conn, "student", ({"id": sid, "school_id": school_id, "first_name": rng.choice(FIRST),
                                "last_name": rng.choice(LAST),
                                "date_of_birth": today - dt.timedelta(days=6200 + k % 1500), "level": "mbo2",
                                "expected_exit_date": today + dt.timedelta(days=k % 700 - 200),
                                "created_at": now, "updated_at": now, "version": 1}
                               for k, (sid, school_id, _r, _rid) in enumerate(students)))
        bulk(conn, "referral_route", ({"id": rid, "student_id": sid, "school_id": school_id,
                                      "responsible_account_id": mentors[school_id][rid % MENTORS_PER_SCHOOL],
                                      "phase": "eindstage", "status": "active",
                                      "start_date": today - dt.timedelta(days=400),
                                      "expected_exit_date": today + dt.timedelta(days=200), "followup_months": 12,
                                      "doelgroepregister_open": False, "created_at": now, "updated_at": now,
                                      "version": 1}
                                     for sid, school_id, _r, rid in students))
        out.counts.update(regions=REGIONS, schools=n_schools, employers=n_employers, accounts=len(accounts),
                          students=n_students, routes=n_students)
        out.seconds["world"] = time.perf_counter() - started
        step = time.perf_counter()
        loader = _Loader(conn=conn, rng=rng, out=out, today=today, now=now, students=students, mentors=mentors,
                         employers=employers, contact_budget=contact_budget, assessment_budget=assessment_budget,
                         n_placements=n_placements)
        loader.run()
        out.seconds["placements"] = time.perf_counter() - step
        if conn.dialect.name == "postgresql":
            for table in ("region", "organisation", "account", "membership", "referral_route", "placement",
                          "placement_contact", "placement_assessment"):
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
    out.counts.update(placements=db.session.scalar(text("SELECT count(*) FROM placement")),
                      contacts=db.session.scalar(text("SELECT count(*) FROM placement_contact")),
                      assessments=db.session.scalar(text("SELECT count(*) FROM placement_assessment")))
    db.session.remove()
    return out


@dataclass
class _Loader:
    """Draws placements chunk by chunk with their contacts and assessments, and loads them."""

    conn: Any
    rng: random.Random
    out: Seeded
    today: dt.date
    now: dt.datetime
    students: list[tuple[uuid.UUID, int, int, int]]
    mentors: dict[int, list[int]]
    employers: dict[int, list[int]]
    contact_budget: int
    assessment_budget: int
    n_placements: int
    contact_id: int = 0
    assessment_id: int = 0

    def run(self) -> None:
        for first in range(1, self.n_placements + 1, CHUNK):
            placements, contacts, assessments = [], [], []
            for pid in range(first, min(first + CHUNK, self.n_placements + 1)):
                row = self._placement(pid)
                placements.append(row)
                remaining = self.n_placements - pid + 1
                contacts.extend(self._contacts(row, remaining))
                assessment = self._assessment(row, remaining)
                if assessment is not None:
                    assessments.append(assessment)
            bulk(self.conn, "placement", placements)
            bulk(self.conn, "placement_contact", contacts)
            bulk(self.conn, "placement_assessment", assessments)

    def _placement(self, pid: int) -> dict[str, Any]:
        rng, today = self.rng, self.today
        kind, _w, (shortest, longest) = rng.choices(KINDS, weights=[k[1] for k in KINDS])[0]
        if pid <= HEAVY:  # the measured stagebegeleider's running placements
            sid, school_id, region, route_id = self.students[pid - 1]
            start = today - dt.timedelta(days=rng.randint(1, 120))
            end = max(start + dt.timedelta(days=shortest), today + dt.timedelta(days=rng.randint(20, 200)))
            status, supervisor = "running", self.out.mentor
        else:
            sid, school_id, region, route_id = self.rng.choice(self.students)
            start = today - dt.timedelta(days=rng.randint(-60, DAYS_BACK))
            end = start + dt.timedelta(days=rng.randint(shortest, longest))
            status = _status(rng, start, end, today)
            supervisor = rng.choice(self.mentors[school_id])
        self.out.statuses[status] = self.out.statuses.get(status, 0) + 1
        ended = status in ("completed", "ended_early")
        ended_on = (end if status == "completed"
                    else start + dt.timedelta(days=rng.randint(1, max(1, (min(end, today) - start).days))))
        changed = dt.datetime.combine(ended_on if ended else start, dt.time(9), dt.UTC)
        return {"id": pid, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4), "route_id": route_id,
                "student_id": sid, "school_id": school_id, "kind": kind, "status": status,
                "organisation_id": rng.choice(self.employers[region]), "service_id": None, "proposal_id": None,
                "function": "Medewerker", "trainer_name": "Praktijkopleider", "trainer_function": "Praktijkopleider",
                "trainer_email": f"po{pid}@bedrijf.example", "trainer_phone": "0612345678",
                "supervisor_account_id": supervisor, "start_date": start, "end_date": end,
                "schedule": _json(self.conn, {"ma": 480, "di": 480, "do": 480}), "with_coach": False,
                "coach_name": None, "learning_goals_encrypted": None, "goals_agreement_id": None,
                "goals_agreement_version": None, "werkprocessen": _json(self.conn, WERKPROCESSEN[:4]),
                "started_on": start if status != "planned" else None, "ended_on": ended_on if ended else None,
                "end_reason": "Past niet bij de leerling" if status == "ended_early" else None,
                "status_changed_at": changed, "created_by_name": "Mentor",
                "created_at": dt.datetime.combine(start - dt.timedelta(days=30), dt.time(9), dt.UTC),
                "updated_at": changed, "version": 2}

    def _contacts(self, placement: dict[str, Any], remaining: int) -> list[dict[str, Any]]:
        status = placement["status"]
        if status == "planned":
            return []
        rng, today = self.rng, self.today
        stop = placement["ended_on"] or today
        planned = schedule(placement["start_date"], placement["end_date"], 6)
        # keep the total near the factor's number: evaluations beyond the budget are left out
        room = self.contact_budget - self.contact_id - 3 * remaining
        rows = []
        for kind, sequence, due in planned:
            if kind.value == "evaluation" and room <= 0 and placement["id"] > HEAVY:
                continue
            room -= kind.value == "evaluation"
            self.contact_id += 1
            row = {"id": self.contact_id, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
                   "placement_id": placement["id"], "school_id": placement["school_id"],
                   "supervisor_account_id": placement["supervisor_account_id"], "kind": kind.value,
                   "sequence": sequence, "status": "planned", "due_date": due, "planned_date": due,
                   "move_reason": None, "done_on": None, "with_whom": None, "how": None, "notes_encrypted": None,
                   "recorded_by_name": None, "recorded_at": None, "reminded_at": None, "escalated_at": None,
                   "created_at": dt.datetime.combine(placement["start_date"], dt.time(7), dt.UTC)}
            if due <= stop and rng.random() < (0.85 if status == "running" else 0.95):
                done = min(stop, due + dt.timedelta(days=rng.randint(0, 3)))
                row.update(status="done", done_on=done, with_whom="both", how="phone",
                           notes_encrypted="bench-placeholder", recorded_by_name="Mentor",
                           recorded_at=dt.datetime.combine(done, dt.time(15), dt.UTC))
            elif status != "running":  # pausing or ending a placement cancels its open contacts
                row["status"] = "cancelled"
            elif due < today and rng.random() < 0.9:
                # the hourly job reminded it the next morning, and escalated it three working days later
                row["reminded_at"] = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(8), dt.UTC)
                if due < today - dt.timedelta(days=6) and rng.random() < 0.9:
                    row["escalated_at"] = row["reminded_at"] + dt.timedelta(days=5)
            rows.append(row)
        return rows

    def _assessment(self, placement: dict[str, Any], remaining: int) -> dict[str, Any] | None:
        rng, status = self.rng, placement["status"]
        near_end = status == "running" and placement["end_date"] <= self.today + dt.timedelta(days=30)
        measured = placement["school_id"] == self.out.school_id and len(self.out.links) < LINK_SAMPLE
        if not (status == "completed" or near_end or (measured and status == "running")):
            return None
        if self.assessment_id >= self.assessment_budget and not measured:
            return None
        self.assessment_id += 1
        sent = dt.datetime.combine(min(placement["end_date"], self.today) - dt.timedelta(days=14), dt.time(10), dt.UTC)
        token = secrets.token_urlsafe(32)
        row = {"id": self.assessment_id, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
               "placement_id": placement["id"], "student_id": placement["student_id"],
               "school_id": placement["school_id"], "status": "requested",
               "token_hash": hashlib.sha256(token.encode()).hexdigest(), "sent_to": placement["trainer_email"],
               "sent_at": sent, "sent_by_name": "Mentor", "expires_at": sent + dt.timedelta(days=30),
               "revoked_at": None, "revoked_by_name": None, "company_name": None, "setting": None, "function": None,
               "assessor_name": None, "supervisor_name": None, "assessed_on": None, "would_hire": None,
               "can_develop": None, "werkproces_scores": _json(self.conn, []),
               "competence_scores": _json(self.conn, {}), "attention": _json(self.conn, []),
               "texts_encrypted": None, "signed_name": None, "submitted_at": None, "created_at": sent, "version": 1}
        if measured and status == "running":
            row["expires_at"] = self.now + dt.timedelta(days=30)
            self.out.links.append((str(placement["uuid"]), token))
        elif status == "completed" and rng.random() < 0.9:
            submitted = sent + dt.timedelta(days=rng.randint(1, 12))
            row.update(status="submitted", company_name="Leerbedrijf", setting="BPV", function="Medewerker",
                       assessor_name="Praktijkopleider", supervisor_name="Mentor", assessed_on=submitted.date(),
                       would_hire=rng.random() < 0.6, can_develop=rng.random() < 0.8,
                       werkproces_scores=_json(self.conn, [{"werkproces": w, "score": rng.choice(TASK_SCORES)}
                                                           for w in WERKPROCESSEN[:4]]),
                       competence_scores=_json(self.conn, {key: rng.choice(COMPETENCE_SCORES) for key in ITEMS}),
                       attention=_json(self.conn, ["samenwerking"] if rng.random() < 0.3 else []),
                       texts_encrypted="bench-placeholder", signed_name="Praktijkopleider", submitted_at=submitted)
        elif rng.random() < 0.3:
            row["revoked_at"], row["revoked_by_name"] = sent + dt.timedelta(days=2), "Mentor"
        return row


__all__ = ["Seeded", "seed"]
