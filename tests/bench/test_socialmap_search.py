"""Sociale kaart search at scale (not in the default run: ``SCHAKEL_BENCH=1 pytest -m bench
tests/bench``; ``SCHAKEL_BENCH_SERVICES`` sets the size, default 20,000). Prints p50/p95 per
query at the service layer and the SQL statements per search page; asserts nothing about time."""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid

import pytest
from sqlalchemy import event, insert

from network.clock import utcnow
from network.db import db
from network.models import Organisation, OrganisationType, Region
from socialmap.entries import ensure_default_categories
from socialmap.models import Service, ServiceStatus, service_category
from socialmap.search import SearchQuery, search_services

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

WORDS = ["jobcoach", "begeleiding", "jongeren", "werk", "stage", "horeca", "logistiek", "zorg", "schulden", "geldzaken",
         "budget", "coaching", "uitkering", "leerplicht", "werkgever", "vacature", "praktijk", "opleiding", "entree",
         "kennis", "overleg", "financiering", "wonen", "dagbesteding", "re-integratie", "loonkostensubsidie"]
#: filler vocabulary, so that a query word occurs in a few per cent of the entries, as in a real map
FILLER = [f"{a}{b}" for a in ("werk", "zorg", "school", "team", "plan", "hulp", "wijk", "regio", "traject", "advies")
          for b in ("punt", "huis", "loket", "route", "groep", "plaats", "centrum", "dienst", "kamer", "lijn",
                    "kring", "net", "markt", "bureau", "zaak", "hoek", "veld", "plein", "lab", "raad")]
QUERIES = ("werk", "jobcoach", "schulden", "stage horeca", "begeleiding jongeren", "jobcaoch", "werkgever logistiek")


def vacuum_analyze() -> None:
    """On PostgreSQL, VACUUM ANALYZE (outside a transaction): the bench files share one
    database and the suite empties the tables with DELETE after each test, so without it the
    next file measures on the dead rows of the last one, a GIN pending list not yet merged and
    statistics of a table that no longer exists (filtered searches ran 3-4 times slower)."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def _seed(count: int) -> None:
    vacuum_analyze()  # the rows a previous bench file left deleted
    rng = random.Random(7)
    categories = ensure_default_categories(db.session)
    region = Region(name="Bench", code="bench")
    db.session.add(region)
    db.session.flush()
    orgs = [Organisation(region_id=region.id, name=f"Organisatie {i}", type=rng.choice(
        [OrganisationType.gemeente, OrganisationType.werkgever, OrganisationType.zorg, OrganisationType.mee]),
        gemeente="Waalstede", is_active=True, version=1) for i in range(count // 10)]
    db.session.add_all(orgs)
    db.session.flush()
    now = utcnow()
    rows, links = [], []
    for i in range(count):
        name = " ".join([rng.choice(WORDS)] + rng.sample(FILLER, 2)).capitalize()
        cats = rng.sample(categories, 2)
        rows.append({"id": i + 1, "uuid": uuid.uuid4(), "organisation_id": orgs[i % len(orgs)].id,
                     "name": f"{name} {i}",
                     "description": " ".join(rng.choices(FILLER, k=25) + rng.sample(WORDS, 2)),
                     "status": ServiceStatus.active,
                     "keywords": " ".join(c.name for c in cats), "is_internal": False, "sbb_recognised": False,
                     "verified_at": now, "created_at": now, "updated_at": now, "version": 1})
        links += [{"service_id": i + 1, "category_id": c.id} for c in cats]
    for start in range(0, count, 2000):
        db.session.execute(insert(Service.__table__), rows[start:start + 2000])
    db.session.execute(insert(service_category), links)
    db.session.commit()
    vacuum_analyze()


def test_search_speed(app_ctx):
    count = int(os.environ.get("SCHAKEL_BENCH_SERVICES", "20000"))
    _seed(count)
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    print(f"\n{db.engine.dialect.name}, {count} services")
    for text in QUERIES:
        for category in (None, "begeleiding"):
            timings, per_page = [], []
            for _ in range(30):
                db.session.expire_all()
                statements.clear()
                started = time.perf_counter()
                result = search_services(db.session, SearchQuery(text=text, category=category))
                [c.name for s in result.page.items for c in s.categories]
                timings.append((time.perf_counter() - started) * 1000)
                per_page.append(len(statements))
            timings.sort()
            print(f"{text!r:26} category={category!s:12} hits={result.page.total:6} "
                  f"p50={statistics.median(timings):6.1f} ms p95={timings[int(len(timings) * 0.95) - 1]:6.1f} ms "
                  f"statements={max(per_page)}")
