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
trigram index, united, so each is answered from its index. A search page is at most three SQL
statements: the strict query (with the total as a window count), the loose one if needed, and
the categories of the page's entries (plus, once per process on PostgreSQL, the look-up of the
trigram index). Each query picks its page on narrow rows (id, tier, rank, total) and reads only
the page's entries whole.
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
    union,
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


def _text_clause(session: Session, words: list[str], loose: bool):
    """(join target or None, match condition, tier, rank, rank ascending?) for the engine.

    ``tier`` puts entries whose *name* matches (any word) first, then those whose keywords
    (categories, department, sector, ...) match, then description-only matches; ``rank``
    orders within a tier. A word matches as a stemmed prefix or exactly; an exact match
    counts twice, so "jobcoach" ranks above "jobcoaching".
    """
    if session.get_bind().dialect.name == "postgresql":
        vector = literal_column("socialmap_service.search_vector")
        parts = [f"{_shortened(w)}:*" for w in words] if loose else [f"({w}:* | {w})" for w in words]
        tsquery = func.to_tsquery("dutch", (" | " if loose else " & ").join(parts))
        any_word = func.to_tsquery("dutch", " | ".join(parts))
        match = vector.op("@@")(tsquery)
        tier = case((func.ts_filter(vector, literal_column("'{a}'::\"char\"[]")).op("@@")(any_word), 0),
                    (func.ts_filter(vector, literal_column("'{b}'::\"char\"[]")).op("@@")(any_word), 1), else_=2)
        rank = func.ts_rank(vector, tsquery)
        if loose and _has_trigram(session):
            needle = bindparam("needle", " ".join(words)[:100], type_=String)
            # lower(...) as in the GIN trigram indexes, and `needle <% column` (word similarity
            # above pg_trgm.word_similarity_threshold): the form those indexes answer. The
            # candidates come from one select per index, united: with the three OR-ed in one
            # condition the planner scans the whole table and computes the word similarity of
            # every entry; tier and rank are then computed for the candidates only
            name, keywords = func.lower(Service.name), func.lower(Service.keywords)
            candidates = union(select(Service.id).where(match), select(Service.id).where(needle.op("<%")(name)),
                               select(Service.id).where(needle.op("<%")(keywords))).subquery("candidates")
            match = Service.id.in_(select(candidates.c.id))
            rank = rank + func.greatest(func.word_similarity(needle, name),
                                        func.coalesce(func.word_similarity(needle, keywords), 0) * 0.5).cast(Float)
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


def _run(session: Session, query: SearchQuery, words: list[str], *, loose: bool, page: int, per_page: int):
    """One statement: the page is chosen on narrow rows (id, tier, rank, the total as a window
    count) and only the page's entries are then read whole, with their organisations."""
    total = func.count().over().label("total")
    chosen = select(Service.id.label("id"), total).join(Service.organisation)
    order, outer_order = [], []
    if words:
        join, match, tier, rank, ascending = _text_clause(session, words, loose)
        if join is not None:
            chosen = chosen.join(join, join.c.rowid == Service.id)
        if match is not None:
            chosen = chosen.where(match)
        chosen = chosen.add_columns(tier.label("tier"), rank.label("rank"))
        order += [tier.asc(), rank.asc() if ascending else rank.desc()]
    chosen = (chosen.where(and_(*_filters(query))).order_by(*order, Service.name, Service.id)
              .limit(per_page).offset((page - 1) * per_page).subquery("chosen"))
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
    if not items and words and page == 1:
        items, total = _run(session, query, words, loose=True, page=page, per_page=per_page)
        loose = bool(items)
    return SearchResult(page=Page(items=items, total=total, page=page, per_page=per_page), loose=loose, words=words)
