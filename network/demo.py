"""The demo region "Regio Waalrand": fictional but realistic, for trying the hub out.

``schakel demo seed`` creates the region, its organisations (schools, gemeenten, UWV, WSP, RMC,
SBB, MEE, a care provider, employers and the hub), one demo account per role and a dozen
students, through the same services the views use. It is idempotent: everything is looked up
by its natural key first (region code, organisation name, account e-mail, membership, student
name and date of birth per school), so a second run changes nothing.

Every person, school, company and number here is made up: the gemeenten do not exist, the
e-mail addresses end in the reserved ``.example`` domain, BSNs are generated to pass the
11-proef only, and the shared demo password is printed for anyone to see. Seeding refuses to
run in production.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import click
import pyotp
from flask import current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.nl import bsn as stdnum_bsn

from network import clock
from network.accounts import add_membership, create_account
from network.crypto import Keyring
from network.db import db
from network.demo_data import ACCOUNTS, ORGANISATIONS, REGISTRARS, STUDENTS, DemoStudent
from network.directory import create_organisation, create_region
from network.errors import DomainError
from network.identity import TOTP_INTERVAL, totp_secret
from network.models import Account, Membership, Organisation, Region, Student
from network.permissions import Principal, permissions_for, system_principal
from network.progress import progress, quiet_option
from network.student_schemas import StudentArgs
from network.students import register_student
from network.transaction import command
from network.web import acting_from

#: One password for every demo account: long enough for the policy and not on the common
#: lists. It is printed by ``schakel demo seed``; it protects nothing.
DEMO_PASSWORD = "Waalrand-demo-2026"  # nosec B105 # public demo login; no seeding in production

REGION_NAME = "Regio Waalrand"
REGION_CODE = "waalrand"


#: the roles that must set up a second factor at first login (documented in the printed note)
_MFA_NOTE = ("De rollen {roles} stellen bij hun eerste login een authenticator-app in (TOTP): "
             "de hub toont dan een sleutel voor de app. Zonder app: `schakel demo totp E-MAIL` "
             "(of .venv/bin/schakel demo totp E-MAIL) toont de actuele code van dat demo-account, "
             "vanaf de instellingspagina (alleen buiten productie).")


def demo_bsns(count: int, seed: int = 20261122) -> list[str]:
    """Generated, 11-proef valid BSNs for the demo (deterministic; they belong to nobody we know)."""
    rng = random.Random(seed)  # nosec B311 # reproducible demo data, not a secret
    found: list[str] = []
    while len(found) < count:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        last = total % 11  # 11-proef: total - last digit must be divisible by 11
        if last > 9:
            continue
        candidate = "".join(map(str, digits)) + str(last)
        if stdnum_bsn.is_valid(candidate) and candidate not in found:
            found.append(candidate)
    return found


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


@dataclass
class SeedReport:
    created: dict[str, int]

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.created.values())


#: the steps of :func:`seed_demo_region` that ``on_progress`` counts: each account (a password
#: hash, the slow part) and each student
DEMO_REGION_STEPS = len(ACCOUNTS) + len(STUDENTS)


def seed_demo_region(session: Session, keyring, *, hasher, password: str = DEMO_PASSWORD,
                     min_password_length: int = 12, today: dt.date | None = None,
                     on_progress: Callable[[int, int], None] | None = None) -> SeedReport:
    """Create whatever part of the demo region is missing; flush, never commit.

    :param hasher: the argon2 password hasher (``network.passwords.make_hasher``).
    :param today: the day expected exit dates are counted from (tests pin it).
    :param on_progress: ``(done, DEMO_REGION_STEPS)`` after each account and each student.
    """
    actor = system_principal(channel="cli", name="demo seed")
    report = SeedReport(created={})
    today = today or clock.today()
    steps = iter(range(1, DEMO_REGION_STEPS + 1))

    def step() -> None:
        if on_progress is not None:
            on_progress(next(steps), DEMO_REGION_STEPS)

    region = session.execute(select(Region).where(Region.code == REGION_CODE)).scalar_one_or_none()
    if region is None:
        region = create_region(session, actor, name=REGION_NAME, code=REGION_CODE)
        report.count("regio")

    organisations: dict[str, Organisation] = {}
    for spec in ORGANISATIONS:
        org = session.execute(select(Organisation).where(
            Organisation.region_id == region.id, Organisation.name == spec.name)).scalar_one_or_none()
        if org is None:
            org = create_organisation(session, actor, region=region, name=spec.name, type=spec.type, brin=spec.brin,
                                      kvk=spec.kvk, oin=spec.oin, gemeente=spec.gemeente, email=spec.email,
                                      phone=spec.phone, website=spec.website)
            report.count("organisaties")
        organisations[spec.key] = org

    accounts: dict[str, Account] = {}
    memberships: dict[str, Membership] = {}
    for spec in ACCOUNTS:
        account = session.execute(select(Account).where(Account.email == spec.email)).scalar_one_or_none()
        if account is None:
            account = create_account(session, actor, email=spec.email, name=spec.name, password=password,
                                     hasher=hasher, min_password_length=min_password_length)
            report.count("accounts")
        accounts[spec.email] = account
        organisation = organisations[spec.organisation]
        membership = session.execute(select(Membership).where(
            Membership.account_id == account.id, Membership.organisation_id == organisation.id,
            Membership.role == spec.role)).scalar_one_or_none()
        if membership is None:
            membership = add_membership(session, actor, account=account, organisation=organisation,
                                        role=spec.role, title=spec.title)
            report.count("lidmaatschappen")
        memberships[spec.email] = membership
        step()

    bsns = iter(demo_bsns(sum(1 for s in STUDENTS if s.with_bsn)))
    for spec in STUDENTS:
        bsn = next(bsns) if spec.with_bsn else None
        school = organisations[spec.school]
        student = session.execute(select(Student).where(
            Student.school_id == school.id, Student.first_name == spec.first_name,
            Student.last_name == spec.last_name, Student.date_of_birth == spec.date_of_birth)).scalar_one_or_none()
        if student is None:
            registrar = _school_principal(accounts[REGISTRARS[spec.school]], memberships[REGISTRARS[spec.school]])
            student = register_student(session, registrar, keyring, _student_data(spec, bsn, today))
            report.count("leerlingen")
        if spec.account_email and student.account_id is None:
            # Linking the student's own login is an administrator's act, not a school form.
            student.account_id = accounts[spec.account_email].id
            report.count("leerlingaccounts gekoppeld")
        step()
    session.flush()
    return report


def _school_principal(account: Account, membership: Membership) -> Principal:
    """The school's staff member, acting for the school, as register_student requires."""
    acting = acting_from(membership)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=(acting,),
                     channel="cli", permissions=permissions_for(acting.role))


def _student_data(spec: DemoStudent, bsn: str | None, today: dt.date) -> dict:
    """The sign-up form as a school would fill it in, loaded by the form's own schema."""
    return StudentArgs().load(_student_form(spec, bsn, today))


def _student_form(spec: DemoStudent, bsn: str | None, today: dt.date) -> dict[str, str | None]:
    first = spec.first_name.lower()
    last = spec.last_name.lower().replace(" ", "")
    parent_email = None
    if spec.parent_name:
        parent_email = f"{spec.parent_name.split()[0].lower()}.{last}@mail.example"
    return {
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "date_of_birth": spec.date_of_birth.isoformat(),
        "email": f"{first}.{last}@mail.example",
        # 06-12345xxx: a made-up mobile number, stable per student
        "phone": f"06 12345{zlib.crc32((first + last).encode()) % 1000:03d}",
        "address": spec.address,
        "postcode": spec.postcode,
        "city": spec.city,
        "parent_name": spec.parent_name,
        "parent_email": parent_email,
        "parent_phone": None,
        "programme": spec.programme,
        "level": spec.level.value,
        "expected_exit_date": _add_months(today, spec.exit_in_months).isoformat(),
        "bsn": bsn,
    }


# -- CLI ---------------------------------------------------------------------------------

demo_cli = click.Group("demo", help="De demoregio Waalrand: aanmaken en inloggen.")


def _refuse_in_production() -> None:
    if current_app.config["SCHAKEL_ENV"] == "production":
        raise click.ClickException("De demoregio is alleen voor ontwikkeling en test, niet voor productie.")


#: feature seeders run after the region exists: ``(session, keyring, today) -> number added``.
#: Features register theirs when imported (network imports no feature); each names the seeders
#: whose data it builds on, so the order does not hang on which package happens to be imported first.
DEMO_SEEDERS: dict[str, tuple[Callable[[Session, Keyring, dt.date], int], tuple[str, ...]]] = {}


def register_demo_seeder(label: str, seeder: Callable[[Session, Keyring, dt.date], int], *,
                         after: tuple[str, ...] = ()) -> None:
    """Register ``seeder`` under ``label``; it runs after the seeders labelled in ``after``."""
    DEMO_SEEDERS.setdefault(label, (seeder, after))


def demo_seeders_in_order() -> list[tuple[str, Callable[[Session, Keyring, dt.date], int]]]:
    """The registered seeders, each after the ones it names (registration order otherwise)."""
    graph = {label: [name for name in after if name in DEMO_SEEDERS] for label, (_, after) in DEMO_SEEDERS.items()}
    sorter = graphlib.TopologicalSorter(graph)
    return [(label, DEMO_SEEDERS[label][0]) for label in sorter.static_order()]


@demo_cli.command("seed")
@quiet_option
@command
def demo_seed(quiet: bool) -> None:
    """Create the demo region (idempotent) and print every demo login."""

    _refuse_in_production()
    hasher = current_app.extensions["schakel.hasher"]
    seeders = demo_seeders_in_order()
    total = DEMO_REGION_STEPS + len(seeders)
    try:
        keyring = current_app.extensions["schakel.keyring"]
        with progress("Demoregio", quiet=quiet) as on_progress:
            def step(done: int, _steps: int = 0) -> None:
                if on_progress is not None:
                    on_progress(done, total)

            report = seed_demo_region(db.session, keyring, hasher=hasher,
                                      min_password_length=current_app.config["PASSWORD_MIN_LENGTH"], on_progress=step)
            today = clock.today()
            extra = {}
            for done, (label, seeder) in enumerate(seeders, DEMO_REGION_STEPS + 1):
                extra[label] = seeder(db.session, keyring, today)
                step(done)
    except (DomainError, MarshmallowValidationError) as exc:
        errors = getattr(exc, "errors", None) or getattr(exc, "messages", None) or {}
        details = "; ".join(f"{field}: {', '.join(map(str, messages))}" for field, messages in errors.items())
        raise click.ClickException(f"De demoregio kon niet worden aangemaakt ({exc}): {details}") from exc
    for label, added in extra.items():
        if added:
            report.created[label] = added
    if report.total:
        made = ", ".join(f"{n} {kind}" for kind, n in report.created.items())
        click.echo(f"Demoregio {REGION_NAME}: aangemaakt: {made}.")
    else:
        click.echo(f"Demoregio {REGION_NAME} bestond al; niets veranderd.")
    click.echo(demo_logins_text())


def demo_logins_text() -> str:
    """The demo logins as a table for the terminal."""
    names = {spec.key: spec.name for spec in ORGANISATIONS}
    rows = [(spec.email, spec.role.value, spec.title, names[spec.organisation]) for spec in ACCOUNTS]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["", "Demo-logins (wachtwoord voor allemaal: " + DEMO_PASSWORD + ")", ""]
    header = ("e-mail", "rol", "functie", "organisatie")
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths + [0], strict=True)).rstrip())
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths + [0], strict=True)).rstrip())
    roles = ", ".join(current_app.config["MFA_REQUIRED_ROLES"]) if current_app else "hub_admin, coordinator"
    lines += ["", _MFA_NOTE.format(roles=roles), ""]
    return "\n".join(lines)


@demo_cli.command("totp")
@click.argument("email")
@with_appcontext
def demo_totp(email: str) -> None:
    """Print the current TOTP code of a demo account (development only).

    Works once the account has a TOTP secret: after enrolling, and already on the set-up page
    of the first login (so the demo can be tried without an authenticator app)."""
    _refuse_in_production()
    email = email.strip().lower()
    if email not in {spec.email for spec in ACCOUNTS}:
        raise click.ClickException(f"{email} is geen demo-account; deze opdracht werkt alleen voor de demoregio.")
    account = db.session.execute(select(Account).where(Account.email == email)).scalar_one_or_none()
    if account is None:
        raise click.ClickException(f"{email} bestaat niet; draai eerst `schakel demo seed`.")
    secret = totp_secret(current_app.extensions["schakel.keyring"], account)
    if not secret:
        raise click.ClickException(
            f"{email} heeft nog geen authenticator ingesteld. Log in met dit account: de hub vraagt dan "
            "om de instelling, en vanaf die pagina geeft deze opdracht de code.")
    click.echo(pyotp.TOTP(secret, interval=TOTP_INTERVAL).now())
    if not account.totp_enabled:
        click.echo("(instelling nog niet bevestigd: vul deze code in op de pagina Tweestapsverificatie)", err=True)
