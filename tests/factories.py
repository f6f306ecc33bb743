"""factory_boy factories for the core objects, shared by every feature's tests.

They write through ``db.session`` and commit (views in tests commit for real too), so use them
inside an app context (the ``session`` fixture). Typical use::

    school = OrganisationFactory(school=True)
    mentor = make_member(Role.mentor, school)           # an Account with one Membership
    student = StudentFactory(school=school, bsn="111222333")
    login(client, mentor)                               # until auth lands: set the session

``AccountFactory(memberships__role=Role.decaan, memberships__organisation=school)`` works as
well; ``AccountFactory(memberships=None)`` (the default) makes an account without membership.
"""

from __future__ import annotations

import datetime as dt
import functools
from contextlib import contextmanager

import factory
from flask import current_app

from network import clock
from network.db import db
from network.models import Account, Membership, Organisation, OrganisationType, Region, Role, SchoolLevel, Student
from network.passwords import make_hasher

#: the password every factory account has (long enough for the policy, not a common one)
PASSWORD = "paars-fietsrek-onder-de-brug"


@functools.cache
def _hash(password: str) -> str:
    return make_hasher(1, 1024).hash(password)


#: while True (inside :func:`one_commit`) the factories flush instead of committing each object
_FLUSH_ONLY = False


def _persist(session) -> None:
    if _FLUSH_ONLY:
        session.flush()
    else:
        session.commit()


@contextmanager
def one_commit(session):
    """Build many objects with one commit at the end instead of one per object (a world of
    ~50 objects is built a quarter faster on PostgreSQL). Code inside that commits still may."""
    global _FLUSH_ONLY
    saved, _FLUSH_ONLY = _FLUSH_ONLY, True
    try:
        yield
        session.commit()
    finally:
        _FLUSH_ONLY = saved


class _Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731

    @classmethod
    def _save(cls, model_class, session, args, kwargs):
        obj = model_class(*args, **kwargs)
        session.add(obj)
        _persist(session)
        return obj


class RegionFactory(_Base):
    class Meta:
        model = Region

    name = factory.Sequence(lambda n: f"Regio {n}")
    code = factory.Sequence(lambda n: f"regio-{n}")


# A valid BRIN has 2 digits and 2 letters; python-stdnum checks the pattern only.
_BRIN_LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"


def _brin(n: int) -> str:
    return f"{n % 100:02d}{_BRIN_LETTERS[(n // 100) % 22]}{_BRIN_LETTERS[n % 22]}"


class OrganisationFactory(_Base):
    """A partner organisation (gemeente) by default; ``school=True`` for a school with BRIN,
    ``type=OrganisationType.hub`` for the regional hub."""

    class Meta:
        model = Organisation

    class Params:
        school = factory.Trait(type=OrganisationType.school,
                               name=factory.Sequence(lambda n: f"ROC Voorbeeld {n}"),
                               brin=factory.Sequence(_brin))

    region = factory.SubFactory(RegionFactory)
    name = factory.Sequence(lambda n: f"Gemeente Voorbeeld {n}")
    type = OrganisationType.gemeente
    gemeente = "Nijmegen"
    is_active = True


class MembershipFactory(_Base):
    class Meta:
        model = Membership

    account = factory.SubFactory("tests.factories.AccountFactory")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.partner_staff


class AccountFactory(_Base):
    class Meta:
        model = Account

    class Params:
        password = PASSWORD

    email = factory.Sequence(lambda n: f"medewerker{n}@voorbeeld.nl")
    name = factory.Sequence(lambda n: f"Medewerker {n}")
    password_hash = factory.LazyAttribute(lambda o: _hash(o.password) if o.password else None)
    is_active = True

    @factory.post_generation
    def memberships(self, create, extracted, **kwargs):
        """``memberships__role=...`` (plus ``__organisation``/``__title``) adds one membership."""
        if kwargs:
            MembershipFactory(account=self, **kwargs)
        elif extracted:
            for membership in extracted:
                membership.account = self
            if create:
                _persist(db.session)


class StudentFactory(_Base):
    """A student of a school; pass ``bsn="..."`` to store an (encrypted) BSN."""

    class Meta:
        model = Student

    school = factory.SubFactory(OrganisationFactory, school=True)
    first_name = factory.Iterator(["Sanne", "Mohammed", "Joris", "Aylin", "Daan", "Noor"])
    last_name = factory.Sequence(lambda n: f"de Vries {n}")
    date_of_birth = dt.date(2007, 5, 14)
    email = factory.Sequence(lambda n: f"leerling{n}@example.org")
    phone = "06 12345678"
    postcode = "6511 AB"
    city = "Nijmegen"
    programme = "Logistiek medewerker"
    level = SchoolLevel.mbo2
    expected_exit_date = dt.date(2027, 7, 1)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        bsn = kwargs.pop("bsn", None)
        student = model_class(*args, **kwargs)
        if bsn:
            student.set_bsn(current_app.extensions["schakel.keyring"], bsn)
        session = cls._meta.sqlalchemy_session_factory()
        session.add(student)
        _persist(session)
        return student


def make_member(role: Role, organisation: Organisation, **account_kwargs) -> Account:
    """An active account with one membership (``role`` in ``organisation``)."""
    account = AccountFactory(**account_kwargs)
    MembershipFactory(account=account, organisation=organisation, role=role)
    db.session.refresh(account)
    return account


def login(client, account: Account, membership: Membership | None = None) -> None:
    """Log ``client`` in as ``account`` (optionally acting under ``membership``) by writing the
    Flask-Login session directly; this skips the password and second-factor steps."""
    with client.session_transaction() as s:
        s["_user_id"] = str(account.id)
        s["_fresh"] = True
        if membership is not None:
            s["acting_membership_id"] = membership.id


def principal_for(account: Account, membership: Membership | None = None, **source):
    """The :class:`~network.permissions.Principal` of ``account`` acting under ``membership``
    (default: its first), as services receive it from a request."""
    from network.permissions import Principal, permissions_for
    from network.web import acting_from

    memberships = tuple(acting_from(m) for m in account.memberships)
    acting = acting_from(membership) if membership is not None else (memberships[0] if memberships else None)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=memberships,
                     permissions=permissions_for(acting.role if acting else None), **source)


def make_api_client(organisation: Organisation, scopes: list[str], name: str = "Zaaksysteem"):
    """An API client of ``organisation`` holding ``scopes``; returns ``(client, secret)``."""
    from network.oauth import ApiClient, digest

    secret = f"geheim-{organisation.id}-{len(scopes)}-{name}"
    client = ApiClient(client_id=f"test-{organisation.id}-{name.lower().replace(' ', '-')}",
                       organisation_id=organisation.id, name=name, secret_hash=digest(secret), scope=" ".join(scopes))
    db.session.add(client)
    db.session.flush()
    return client, secret


def get_token(test_client, api_client, secret: str, scope: str | None = None) -> str:
    """An access token for ``api_client`` from ``/oauth/token`` (client credentials, basic auth)."""
    import base64

    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    response = test_client.post("/oauth/token", data=data, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the scopes of the legal tasks (referrals.scope) ------------------------------------------------

def left_school(student: Student, *, days_ago: int = 30, startkwalificatie: bool | None = False,
                followup_months: int = 12):
    """Give ``student`` a route whose exit was recorded ``days_ago`` (in follow-up), so the RMC's
    legal task covers them (without a startkwalificatie, under 23). Flushes; returns the route."""
    from referrals.models import Route, RoutePhase, RouteStatus

    today = clock.today()
    route = db.session.query(Route).filter_by(student_id=student.id).one_or_none() or Route(
        student_id=student.id, school_id=student.school_id, start_date=today - dt.timedelta(days=days_ago + 300),
        phase=RoutePhase.afronding)
    route.exit_date, route.status = today - dt.timedelta(days=days_ago), RouteStatus.followup
    route.startkwalificatie, route.followup_months = startkwalificatie, followup_months
    db.session.add(route)
    db.session.flush()
    return route


def doelgroepregister_step(student: Student, *, running: bool = True):
    """Mark a doelgroepregister application as a running step of ``student``'s route (made when
    missing), so UWV's legal task covers the student. Flushes; returns the route."""
    from referrals.models import Route, RoutePhase, RouteStatus

    today = clock.today()
    route = db.session.query(Route).filter_by(student_id=student.id).one_or_none() or Route(
        student_id=student.id, school_id=student.school_id, start_date=today - dt.timedelta(days=60),
        phase=RoutePhase.plan, status=RouteStatus.active, followup_months=12)
    route.doelgroepregister_open = running
    db.session.add(route)
    db.session.flush()
    return route
