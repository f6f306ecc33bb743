"""Core commands: organisations and accounts (``schakel org``/``schakel account``), the demo
region (``schakel demo``) and the scheduler (``schakel scheduler``)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from network.transaction import command


def register_core_commands(app: Flask) -> None:
    from network.demo import demo_cli
    from network.scheduler import scheduler_cli

    app.cli.add_command(demo_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(org_cli)
    app.cli.add_command(account_cli)


# -- schakel org / schakel account (the same services as the beheer pages) -----------------

org_cli = click.Group("org", help="Organisaties in het netwerk.")
account_cli = click.Group("account", help="Accounts en hun rollen.")


def _fail_on(exc) -> click.ClickException:
    messages = "; ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in exc.errors.items())
    return click.ClickException(messages or str(exc.detail or exc))


@org_cli.command("create")
@click.argument("name")
@click.option("--type", "type_", required=True, help="school, gemeente, uwv, wsp, rmc, sbb, ..., werkgever, hub")
@click.option("--region", "region_code", required=True, help="Regiocode, bijvoorbeeld waalrand.")
@click.option("--region-name", help="Maak de regio aan met deze naam als ze nog niet bestaat.")
@click.option("--brin")
@click.option("--kvk")
@click.option("--oin")
@click.option("--gemeente")
@click.option("--email")
@click.option("--phone")
@click.option("--website")
@command
def org_create(name, type_, region_code, region_name, **details) -> None:
    """Add an organisation to a region (and the region itself with --region-name)."""
    from sqlalchemy import select

    from network.db import db
    from network.directory import create_organisation, create_region
    from network.errors import ValidationFailed
    from network.models import OrganisationType, Region
    from network.permissions import system_principal

    actor = system_principal()
    try:
        region = db.session.scalar(select(Region).where(Region.code == region_code.lower()))
        if region is None:
            if not region_name:
                raise click.ClickException(f"unknown region {region_code!r}; pass --region-name to create it")
            region = create_region(db.session, actor, name=region_name, code=region_code)
        if type_ not in OrganisationType.__members__:
            raise click.ClickException(f"unknown type {type_!r}")
        organisation = create_organisation(db.session, actor, region=region, name=name, type=type_, **details)
    except ValidationFailed as exc:
        raise _fail_on(exc) from None
    click.echo(f"organisation {organisation.id} created in region {region.code}")


@account_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--org", "organisation_id", type=int, required=True, help="Id van de organisatie.")
@click.option("--role", required=True, help="zorgcoordinator, mentor, ..., partner_staff, coordinator, hub_admin")
@click.option("--title", help="Functie, bijvoorbeeld 'Jobcoach team jongeren'.")
@click.option("--password/--no-password", "ask_password", default=False,
              help="Vraag om een wachtwoord (anders kiest de medewerker er zelf een via de herstelmail).")
@command
def account_create(email, name, organisation_id, role, title, ask_password) -> None:
    """Add an account with its first role in one step."""
    from network.db import db
    from network.directory import add_membership, create_account
    from network.errors import ValidationFailed
    from network.models import Organisation, Role
    from network.permissions import system_principal

    if role not in Role.__members__:
        raise click.ClickException(f"unknown role {role!r}")
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise click.ClickException(f"unknown organisation {organisation_id}")
    password = click.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True) if ask_password else None
    config = current_app.config
    actor = system_principal()
    try:
        account = create_account(db.session, actor, email=email, name=name, password=password,
                                 hasher=current_app.extensions["schakel.hasher"],
                                 min_password_length=config["PASSWORD_MIN_LENGTH"])
        add_membership(db.session, actor, account=account, organisation=organisation, role=role, title=title)
    except ValidationFailed as exc:
        raise _fail_on(exc) from None
    click.echo(f"account {account.id} created")
