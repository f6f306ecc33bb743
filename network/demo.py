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
from flask import current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock
from network.crypto import Keyring
from network.db import db
from network.errors import DomainError
from network.models import Account, Membership, Organisation, OrganisationType, Region, Role, SchoolLevel, Student
from network.permissions import Principal, permissions_for, system_principal
from network.transaction import command

#: One password for every demo account: long enough for the policy and not on the common
#: lists. It is printed by ``schakel demo seed``; it protects nothing.
DEMO_PASSWORD = "Waalrand-demo-2026"  # nosec B105 # public demo login; no seeding in production

REGION_NAME = "Regio Waalrand"
REGION_CODE = "waalrand"

T = OrganisationType


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    name: str
    type: OrganisationType
    gemeente: str
    brin: str | None = None
    kvk: str | None = None
    oin: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    organisation: str  #: DemoOrganisation.key
    role: Role
    title: str


@dataclass(frozen=True)
class DemoStudent:
    school: str  #: DemoOrganisation.key
    first_name: str
    last_name: str
    date_of_birth: dt.date
    level: SchoolLevel
    programme: str
    city: str
    postcode: str
    address: str
    #: months from the seeding day to the expected exit date
    exit_in_months: int
    with_bsn: bool = False
    #: under 18 at seeding time in the story: a parent's contact is on file
    parent_name: str | None = None
    #: the demo student account (Student.account_id)
    account_email: str | None = None


ORGANISATIONS: tuple[DemoOrganisation, ...] = (
    # the hub itself: the uitstroomcoördinator and the administrator work here
    DemoOrganisation("hub", "Schakel Waalrand", T.hub, "Waalstede", email="info@schakel-waalrand.example",
                     phone="0487 200 100", website="https://schakel-waalrand.example"),
    # schools (BRIN: two digits, two letters)
    DemoOrganisation("roc", "ROC Waalrand", T.school, "Waalstede", brin="31WR", kvk="41052877",
                     email="info@rocwaalrand.example", phone="0487 300 300", website="https://rocwaalrand.example"),
    DemoOrganisation("linde", "Lindecollege mbo", T.school, "Linderveen", brin="27LC", kvk="41063215",
                     email="info@lindecollege.example", phone="0488 410 410", website="https://lindecollege.example"),
    DemoOrganisation("vso", "VSO De Brug", T.school, "Waalstede", brin="20BR",
                     email="info@vsodebrug.example", phone="0487 250 250"),
    DemoOrganisation("pro", "Praktijkschool Bergakker", T.school, "Bergakker", brin="24PB",
                     email="info@praktijkschoolbergakker.example", phone="0486 330 330"),
    # gemeenten (OIN: 00000001 + RSIN + 0000, all made up)
    DemoOrganisation("gem_waalstede", "Gemeente Waalstede", T.gemeente, "Waalstede",
                     oin="00000001809912340000", email="jongeren@waalstede.example", phone="14 0487"),
    DemoOrganisation("gem_linderveen", "Gemeente Linderveen", T.gemeente, "Linderveen",
                     oin="00000001809923450000", email="werk@linderveen.example", phone="14 0488"),
    DemoOrganisation("gem_bergakker", "Gemeente Bergakker", T.gemeente, "Bergakker",
                     oin="00000001809934560000", email="info@bergakker.example", phone="14 0486"),
    # partners
    DemoOrganisation("uwv", "UWV Waalstede", T.uwv, "Waalstede", oin="00000001809945670000",
                     phone="088 898 9000"),
    DemoOrganisation("wsp", "Werkgeversservicepunt Waalrand", T.wsp, "Waalstede",
                     email="wsp@waalrand.example", phone="0487 222 333"),
    DemoOrganisation("rmc", "RMC Waalrand", T.rmc, "Waalstede", email="rmc@waalstede.example",
                     phone="0487 222 444"),
    DemoOrganisation("sbb", "SBB regio Waalrand", T.sbb, "Linderveen", phone="088 338 0000"),
    DemoOrganisation("lwl", "Leerwerkloket Waalrand", T.leerwerkloket, "Waalstede",
                     email="leerwerkloket@waalrand.example"),
    DemoOrganisation("mee", "MEE Waalrand", T.mee, "Linderveen", kvk="41070114",
                     email="info@meewaalrand.example", phone="0488 600 600"),
    DemoOrganisation("zorg", "Zorggroep De Linde", T.zorg, "Linderveen", kvk="41083302",
                     email="jeugd@zorggroepdelinde.example", phone="0488 700 700"),
    # employers (KvK: eight digits)
    DemoOrganisation("bakkerij", "Bakkerij Van Dalen", T.werkgever, "Waalstede", kvk="62451879",
                     phone="0487 512 345"),
    DemoOrganisation("groen", "Hoveniersbedrijf Groenrijk", T.werkgever, "Linderveen", kvk="70318264",
                     phone="0488 523 456"),
    DemoOrganisation("logistiek", "Logistiek Centrum Waalhaven", T.werkgever, "Waalstede", kvk="58962031",
                     phone="0487 534 567"),
    DemoOrganisation("bergweide", "Zorgcentrum Bergweide", T.werkgever, "Bergakker", kvk="41094477",
                     phone="0486 545 678"),
)

ACCOUNTS: tuple[DemoAccount, ...] = (
    # school staff
    DemoAccount("f.elamrani@rocwaalrand.example", "Fatima El Amrani", "roc", Role.zorgcoordinator,
                "Zorgcoördinator entree"),
    DemoAccount("j.devries@rocwaalrand.example", "Joost de Vries", "roc", Role.mentor, "Mentor/SLB'er entree"),
    DemoAccount("s.bakker@rocwaalrand.example", "Sanne Bakker", "roc", Role.bpv_begeleider, "BPV-begeleider"),
    DemoAccount("r.jansen@lindecollege.example", "Ruben Jansen", "linde", Role.decaan, "Decaan"),
    DemoAccount("m.dekker@lindecollege.example", "Mirjam Dekker", "linde", Role.zorgcoordinator,
                "Zorgcoördinator"),
    DemoAccount("i.peters@vsodebrug.example", "Ingrid Peters", "vso", Role.zorgcoordinator,
                "Stagecoördinator en zorgcoördinator"),
    DemoAccount("m.hendriks@praktijkschoolbergakker.example", "Marco Hendriks", "pro", Role.mentor,
                "Mentor en jobcoach"),
    # partner staff
    DemoAccount("l.verhoeven@waalstede.example", "Lotte Verhoeven", "gem_waalstede", Role.partner_staff,
                "Jobcoach team jongeren"),
    DemoAccount("a.yilmaz@linderveen.example", "Ahmed Yilmaz", "gem_linderveen", Role.partner_staff,
                "Leerplichtambtenaar"),
    DemoAccount("k.smit@uwv-waalstede.example", "Karin Smit", "uwv", Role.partner_staff, "Arbeidsdeskundige"),
    DemoAccount("b.vanleeuwen@wsp-waalrand.example", "Bas van Leeuwen", "wsp", Role.partner_staff,
                "Accountmanager werkgevers"),
    DemoAccount("n.visser@rmc-waalrand.example", "Noor Visser", "rmc", Role.partner_staff,
                "Trajectbegeleider RMC"),
    # the hub
    DemoAccount("e.mulder@schakel-waalrand.example", "Eva Mulder", "hub", Role.coordinator, "Uitstroomcoördinator"),
    DemoAccount("t.bos@schakel-waalrand.example", "Tom Bos", "hub", Role.hub_admin, "Beheerder"),
    # a student with an account of their own (linked to the Student row below)
    DemoAccount("daan.willems@student.rocwaalrand.example", "Daan Willems", "roc", Role.student, "Student entree"),
)

STUDENTS: tuple[DemoStudent, ...] = (
    DemoStudent("roc", "Daan", "Willems", dt.date(2007, 3, 14), SchoolLevel.entree, "Entree medewerker logistiek",
                "Waalstede", "6611 AB", "Dijkstraat 12", 7, with_bsn=True,
                account_email="daan.willems@student.rocwaalrand.example"),
    DemoStudent("roc", "Yasmina", "Bouzid", dt.date(2008, 9, 2), SchoolLevel.entree, "Entree assistent bakker",
                "Waalstede", "6612 CD", "Molenweg 3", 8, with_bsn=True, parent_name="Karima Bouzid"),
    DemoStudent("roc", "Kevin", "Hermsen", dt.date(2006, 11, 21), SchoolLevel.mbo2, "Medewerker groen",
                "Linderveen", "6621 EF", "Kerkpad 7", 5),
    DemoStudent("roc", "Lisa", "van den Berg", dt.date(2007, 6, 30), SchoolLevel.mbo2, "Helpende zorg en welzijn",
                "Bergakker", "6631 GH", "Lindelaan 41", 10, with_bsn=True),
    DemoStudent("linde", "Mohammed", "Aydin", dt.date(2006, 1, 9), SchoolLevel.mbo3, "Logistiek teamleider",
                "Linderveen", "6622 JK", "Stationsstraat 18", 6),
    DemoStudent("linde", "Emma", "Kuipers", dt.date(2007, 12, 5), SchoolLevel.mbo2, "Facilitair medewerker",
                "Linderveen", "6623 LM", "Beukenhof 2", 11, with_bsn=True),
    DemoStudent("linde", "Jesse", "Martens", dt.date(2005, 4, 17), SchoolLevel.mbo4, "Allround medewerker ICT",
                "Waalstede", "6613 NP", "Havenkade 9", 4),
    DemoStudent("vso", "Sem", "Gerritsen", dt.date(2008, 2, 26), SchoolLevel.vso, "Uitstroomprofiel arbeid",
                "Waalstede", "6614 RS", "Schoolstraat 22", 7, with_bsn=True, parent_name="Anja Gerritsen"),
    DemoStudent("vso", "Noa", "Timmermans", dt.date(2009, 7, 11), SchoolLevel.vso, "Uitstroomprofiel arbeid",
                "Bergakker", "6632 TV", "Heideweg 5", 13, parent_name="Peter Timmermans"),
    DemoStudent("pro", "Milan", "Claassen", dt.date(2008, 10, 3), SchoolLevel.pro, "Praktijkroute groen",
                "Bergakker", "6633 WX", "Akkerstraat 16", 9, with_bsn=True, parent_name="Saskia Claassen"),
    DemoStudent("pro", "Sara", "Koster", dt.date(2009, 5, 19), SchoolLevel.pro, "Praktijkroute horeca",
                "Bergakker", "6634 YZ", "Dorpsplein 1", 14, parent_name="Wendy Koster"),
    DemoStudent("pro", "Thijs", "Wouters", dt.date(2008, 8, 8), SchoolLevel.pro, "Praktijkroute schoonmaak",
                "Waalstede", "6615 BC", "Rivierstraat 30", 6, with_bsn=True, parent_name="Hans Wouters"),
)

#: for each school, the staff member who registers its demo students
REGISTRARS = {
    "roc": "f.elamrani@rocwaalrand.example",
    "linde": "m.dekker@lindecollege.example",
    "vso": "i.peters@vsodebrug.example",
    "pro": "m.hendriks@praktijkschoolbergakker.example",
}

#: the roles that must set up a second factor at first login (documented in the printed note)
_MFA_NOTE = ("De rollen {roles} stellen bij hun eerste login een authenticator-app in (TOTP): "
             "de hub toont dan een sleutel voor de app. Zonder app: `schakel demo totp E-MAIL` "
             "(of .venv/bin/schakel demo totp E-MAIL) toont de actuele code van dat demo-account, "
             "vanaf de instellingspagina (alleen buiten productie).")


def demo_bsns(count: int, seed: int = 20261122) -> list[str]:
    """Generated, 11-proef valid BSNs for the demo (deterministic; they belong to nobody we know)."""
    from stdnum.nl import bsn as stdnum_bsn

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


def seed_demo_region(session: Session, keyring, *, hasher, password: str = DEMO_PASSWORD,
                     min_password_length: int = 12, today: dt.date | None = None) -> SeedReport:
    """Create whatever part of the demo region is missing; flush, never commit.

    :param hasher: the argon2 password hasher (``network.passwords.make_hasher``).
    :param today: the day expected exit dates are counted from (tests pin it).
    """
    from network.accounts import add_membership, create_account
    from network.directory import create_organisation, create_region
    from network.students import register_student

    actor = system_principal(channel="cli", name="demo seed")
    report = SeedReport(created={})
    today = today or clock.today()

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
    session.flush()
    return report


def _school_principal(account: Account, membership: Membership) -> Principal:
    """The school's staff member, acting for the school, as register_student requires."""
    from network.web import acting_from

    acting = acting_from(membership)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=(acting,),
                     channel="cli", permissions=permissions_for(acting.role))


def _student_data(spec: DemoStudent, bsn: str | None, today: dt.date) -> dict:
    """The sign-up form as a school would fill it in, loaded by the form's own schema."""
    from network.student_schemas import StudentArgs

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
@command
def demo_seed() -> None:
    """Create the demo region (idempotent) and print every demo login."""

    _refuse_in_production()
    hasher = current_app.extensions["schakel.hasher"]
    try:
        keyring = current_app.extensions["schakel.keyring"]
        report = seed_demo_region(db.session, keyring, hasher=hasher,
                                  min_password_length=current_app.config["PASSWORD_MIN_LENGTH"])
        today = clock.today()
        extra = {label: seeder(db.session, keyring, today) for label, seeder in demo_seeders_in_order()}
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
    import pyotp

    from network.identity import TOTP_INTERVAL, totp_secret

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
