"""Search the sociale kaart: free text plus filters, ranked name > category > description.

The full-text part is engine-specific and index-backed (never ``LIKE '%x%'``):

- **PostgreSQL**: the generated ``search_vector`` (``dutch`` configuration: Dutch stemming and
  stop words; weights A name, B keywords such as categories, C description) with its GIN index;
  each query word becomes a stemmed prefix (``schulden`` → ``'schuld':*``, so compounds such as
  *schuldhulpverlening* match) and words are AND-ed. Ranked by ``ts_rank``.
- **SQLite**: the FTS5 table ``socialmap_search`` (unicode61, diacritics folded, prefix
  indexes). FTS5 has no Dutch stemmer, so :func:`dutch_stem` strips common Dutch endings from
  the query words, which then match as prefixes. Ranked by ``bm25`` with column weights 10/4/1.

Typo tolerance: when the strict query finds nothing, one *loose* query runs: words OR-ed and
shortened to a prefix (``jobcaoch`` → ``jobc*``), and on PostgreSQL with pg_trgm also trigram
word similarity on the name and keywords: ``needle <% lower(column)``, one select per GIN
trigram index, united, so each is answered from its index; a short prefix matches thousands
of entries, so the costly word similarity is computed for the best of them only (see
:func:`_pg_typo_page`). A search page is at most three SQL statements: the strict query (with
the total as a window count), the loose one if needed, and the categories of the page's entries
(plus, once per process on PostgreSQL, the look-up of the trigram index). Each query picks its
page on narrow rows (id, tier, rank, total) and reads only the page's entries whole. On
PostgreSQL the tsqueries and the typo needle are SQL literals, so that a prepared statement's
generic plan still knows them (see :func:`_pg_tsquery`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import (
    Float,
    String,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.orm import Session, contains_eager, selectinload

from network.db import Page
from network.models import Organisation, OrganisationType
from socialmap.models import (
    CapacityStatus,
    Category,
    Service,
    ServiceStatus,
    ServiceTag,
    TagVocabulary,
    service_category,
)

MAX_WORDS = 8
#: typo matches ranked with their word similarity on PostgreSQL (see _pg_typo_page)
TYPO_CANDIDATES = 100
_WORD = re.compile(r"\w+", re.UNICODE)
#: Dutch endings, longest first (plurals, diminutives, inflections); the stem keeps ≥ 3 letters
_DUTCH_ENDINGS = ("heden", "tjes", "etje", "ingen", "tje", "jes", "ing", "en", "es", "'s", "s", "e")

_fts = table("socialmap_search", column("rowid"))
_trgm_cache: dict[str, bool] = {}


@dataclass
class SearchQuery:
    """What to look for. ``statuses`` is for members; the public sees active entries only."""

    text: str = ""
    category: str | None = None
    organisation_type: OrganisationType | None = None
    gemeente: str | None = None
    target_group: str | None = None
    offer: str | None = None
    capacity: CapacityStatus | None = None
    internal: bool | None = None
    region_id: int | None = None
    organisation_id: int | None = None
    statuses: tuple[ServiceStatus, ...] = (ServiceStatus.active,)
    #: further SQL conditions on ``Service`` (the HSDS API's filters), AND-ed with the rest
    conditions: tuple = ()


@dataclass
class SearchResult:
    page: Page
    #: True when the strict query found nothing and the typo-tolerant one answered
    loose: bool = False
    words: list[str] = field(default_factory=list)


def query_words(text_: str) -> list[str]:
    """The words of a query, lower-cased, at most :data:`MAX_WORDS`."""
    return [w.lower() for w in _WORD.findall(text_ or "")][:MAX_WORDS]


def dutch_stem(word: str) -> str:
    """A light Dutch stemmer for prefix matching: ``schulden`` → ``schuld``, ``stage`` → ``stag``."""
    for ending in _DUTCH_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            stem = word[: -len(ending)]
            if len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
                stem = stem[:-1]  # "stappen" → "stapp" → "stap"
            return stem
    return word


def _shortened(word: str) -> str:
    return word[: max(3, len(word) // 2)] if len(word) > 4 else word


def _has_trigram(session: Session) -> bool:
    bind = session.get_bind()
    key = str(bind.url)
    if key not in _trgm_cache:
        _trgm_cache[key] = bool(session.execute(text(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_socialmap_service_name_trgm'")).first())
    return _trgm_cache[key]


def _filters(query: SearchQuery) -> list:
    conditions = [Service.status.in_(query.statuses)]

    def tagged(vocabulary: TagVocabulary, code: str):
        return exists().where(ServiceTag.service_id == Service.id, ServiceTag.vocabulary == vocabulary,
                              ServiceTag.code == code)

    if query.category:
        conditions.append(exists().where(service_category.c.service_id == Service.id,
                                         service_category.c.category_id == Category.id,
                                         Category.code == query.category))
    if query.organisation_type is not None:
        conditions.append(Organisation.type == query.organisation_type)
    if query.gemeente:
        conditions.append(or_(tagged(TagVocabulary.gemeente, query.gemeente), Organisation.gemeente == query.gemeente))
    if query.target_group:
        conditions.append(tagged(TagVocabulary.target_group, query.target_group))
    if query.offer:
        conditions.append(tagged(TagVocabulary.offer, query.offer))
    if query.capacity is not None:
        conditions.append(Service.capacity == query.capacity)
    if query.internal is not None:
        conditions.append(Service.is_internal.is_(query.internal))
    if query.region_id is not None:
        conditions.append(Organisation.region_id == query.region_id)
    if query.organisation_id is not None:
        conditions.append(Service.organisation_id == query.organisation_id)
    conditions.extend(query.conditions)
    return conditions


def _pg_terms(words: list[str], loose: bool, weight: str = "") -> list[str]:
    """tsquery terms: a stemmed prefix or the exact word (an exact match counts twice in
    ``ts_rank``); loose: the shortened prefix. ``weight`` restricts a term to the lexemes of
    that weight (``A`` name, ``B`` keywords): ``'jobcoach':*A``."""
    if loose:
        return [f"{_shortened(w)}:*{weight}" for w in words]
    return [f"({w}:*{weight} | {w}{':' + weight if weight else ''})" for w in words]


def _pg_tsquery(expression: str):
    """``to_tsquery('dutch', '...')`` with both arguments written into the SQL as literals.

    As bound parameters they would be constants only in a custom plan: psycopg prepares a
    statement from its fifth execution on, and PostgreSQL soon switches a prepared statement
    to its generic plan, which did not know the query (estimated 100 matches for 2,238, went
    parallel) and parsed it again for every entry it ranked: twice as slow. Literals keep the
    plan right and are safe here: the words are ``\\w+`` (:func:`query_words`) and the value is
    quoted by SQLAlchemy's literal rendering; the compiled statement stays cached."""
    return func.to_tsquery(literal_column("'dutch'::regconfig"),
                           bindparam(None, expression, type_=String, literal_execute=True))


def _pg_text(words: list[str], loose: bool):
    """(match, tier, ts_rank) on PostgreSQL. The tier tests the name (weight A) and the keywords
    (weight B) with weight-restricted queries (``'jobcoach':*A``), no filtered copy of the vector."""
    vector = literal_column("socialmap_service.search_vector")
    query = _pg_tsquery((" | " if loose else " & ").join(_pg_terms(words, loose)))
    in_name = _pg_tsquery(" | ".join(_pg_terms(words, loose, "A")))
    in_keywords = _pg_tsquery(" | ".join(_pg_terms(words, loose, "B")))
    tier = case((vector.op("@@")(in_name), 0), (vector.op("@@")(in_keywords), 1), else_=2)
    return vector.op("@@")(query), tier, func.ts_rank(vector, query)


def _text_clause(session: Session, words: list[str], loose: bool):
    """(join target or None, match condition, tier, rank, rank ascending?) for the engine.

    ``tier`` puts entries whose *name* matches (any word) first, then those whose keywords
    (categories, department, sector, ...) match, then description-only matches; ``rank``
    orders within a tier. A word matches as a stemmed prefix or exactly; an exact match
    counts twice, so "jobcoach" ranks above "jobcoaching".
    """
    if session.get_bind().dialect.name == "postgresql":
        match, tier, rank = _pg_text(words, loose)
        return None, match, tier, rank, False
    if loose:
        expression = " OR ".join(f'"{_shortened(w)}"*' for w in words)
    else:
        expression = " AND ".join(f'("{dutch_stem(w)}"* OR "{w}")' for w in words)
    # bm25() cannot sit next to the window count: rank inside a CTE; highlight()
    # marks the matched tokens of a column, which tells whether the name or keywords matched
    tier = ("CASE WHEN instr(highlight(socialmap_search, 0, char(1), char(2)), char(1)) > 0 THEN 0 "
            "WHEN instr(highlight(socialmap_search, 1, char(1), char(2)), char(1)) > 0 THEN 1 ELSE 2 END")
    hits = (select(_fts.c.rowid.label("rowid"), literal_column(tier).label("tier"),
                   literal_column("bm25(socialmap_search, 10.0, 4.0, 1.0)").label("rank"))
            .select_from(_fts).where(text("socialmap_search MATCH :fts_query").bindparams(fts_query=expression))
            # materialised: run the MATCH once, not once per entry the planner loops over
            .cte("hits").prefix_with("MATERIALIZED"))
    return hits, None, hits.c.tier, hits.c.rank, True


def _pg_typo_page(words: list[str], filters: list, limit: int, offset: int):
    """The loose query on PostgreSQL with pg_trgm: (id, total, tier, rank) of the page.

    Candidates are the shortened-prefix matches plus the entries whose name or keywords are
    word-similar to the query (``needle <% lower(column)``, one select per GIN trigram index,
    so each is answered from its index), filtered, united and counted. The rank adds the word
    similarity to ``ts_rank``; word similarity costs some microseconds per entry and a short
    prefix matches thousands of entries ("jobc" 2,238 of 20,000), so it is computed exactly
    only for the best :data:`TYPO_CANDIDATES` by tier and ``ts_rank`` (plus the similarity the
    trigram selects already know). An entry outside those can only gain a similarity below
    ``pg_trgm.word_similarity_threshold`` (else a trigram select found it); on a typo's
    thousands of loose matches that order is as good as exact.
    """
    match, tier, trank = _pg_text(words, loose=True)
    needle = bindparam("needle", " ".join(words)[:100], type_=String, literal_execute=True)
    # lower(...) as in the GIN trigram indexes
    name, keywords = func.lower(Service.name), func.lower(Service.keywords)
    similarity = func.greatest(func.word_similarity(needle, name),
                               func.coalesce(func.word_similarity(needle, keywords), 0) * 0.5).cast(Float)

    def candidates(condition, known_similarity):
        return (select(Service.id, Service.name, tier.label("tier"), trank.label("trank"),
                       known_similarity.label("similarity"))
                .join(Service.organisation).where(condition, *filters))

    matches = union_all(candidates(match, literal_column("0").cast(Float)),
                        candidates(needle.op("<%")(name), similarity),
                        candidates(needle.op("<%")(keywords), similarity)).subquery("matches")
    found = (select(matches.c.id, matches.c.name, matches.c.tier, matches.c.trank,
                    func.max(matches.c.similarity).label("similarity"), func.count().over().label("total"))
             .group_by(matches.c.id, matches.c.name, matches.c.tier, matches.c.trank).subquery("found"))
    best = (select(found)
            .order_by(found.c.tier, (found.c.trank + found.c.similarity).desc(), found.c.name, found.c.id)
            .limit(max(TYPO_CANDIDATES, 2 * (offset + limit))).subquery("best"))
    rank = (best.c.trank + similarity).label("rank")
    return (select(best.c.id, best.c.total, best.c.tier, rank).join(Service, Service.id == best.c.id)
            .order_by(best.c.tier, rank.desc(), best.c.name, best.c.id)
            .limit(limit).offset(offset).subquery("chosen"))


def _run(session: Session, query: SearchQuery, words: list[str], *, loose: bool, page: int, per_page: int):
    """One statement: the page is chosen on narrow rows (id, tier, rank, the total as a window
    count) and only the page's entries are then read whole, with their organisations."""
    offset = (page - 1) * per_page
    ascending = False
    if words and loose and session.get_bind().dialect.name == "postgresql" and _has_trigram(session):
        chosen = _pg_typo_page(words, _filters(query), per_page, offset)
    elif words:
        join, match, tier, rank, ascending = _text_clause(session, words, loose)
        matched = select(Service.id.label("id"), Service.name.label("name"), tier.label("tier"),
                         rank.label("rank")).join(Service.organisation)
        if join is not None:
            matched = matched.join(join, join.c.rowid == Service.id)
        if match is not None:
            matched = matched.where(match)
        # OFFSET 0 keeps PostgreSQL from pulling the subquery up: the window count then runs over
        # these narrow rows, not over rows that carry search_vector to the final projection
        # (at 19,000 matches of 20,000 entries those spilled 11 MB to a temp file, 30 ms)
        matched = matched.where(and_(*_filters(query))).offset(0).subquery("matched")
        chosen = (select(matched.c.id, func.count().over().label("total"), matched.c.tier, matched.c.rank)
                  .order_by(matched.c.tier, matched.c.rank.asc() if ascending else matched.c.rank.desc(),
                            matched.c.name, matched.c.id)
                  .limit(per_page).offset(offset).subquery("chosen"))
    else:
        chosen = (select(Service.id.label("id"), func.count().over().label("total")).join(Service.organisation)
                  .where(and_(*_filters(query))).order_by(Service.name, Service.id)
                  .limit(per_page).offset(offset).subquery("chosen"))
    outer_order = []
    if words:
        outer_order += [chosen.c.tier.asc(), chosen.c.rank.asc() if ascending else chosen.c.rank.desc()]
    statement = (select(Service, chosen.c.total).join(chosen, chosen.c.id == Service.id).join(Service.organisation)
                 .options(contains_eager(Service.organisation), selectinload(Service.categories))
                 .order_by(*outer_order, Service.name, Service.id))
    rows = session.execute(statement).all()
    return [row[0] for row in rows], (rows[0].total if rows else 0)


def search_services(session: Session, query: SearchQuery, *, page: int = 1, per_page: int = 20) -> SearchResult:
    """Entries matching ``query``, best first (by name when there is no text)."""
    page, per_page = max(1, page), max(1, min(per_page, 100))
    words = query_words(query.text)
    items, total = _run(session, query, words, loose=False, page=page, per_page=per_page)
    loose = False
    if not total and words:
        # nothing at all for the exact words: every page of this search is a typo-tolerant one
        items, total = _run(session, query, words, loose=True, page=page, per_page=per_page)
        loose = bool(items)
    return SearchResult(page=Page(items=items, total=total, page=page, per_page=per_page), loose=loose, words=words)
