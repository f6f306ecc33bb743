"""Command line: ``schakel …`` (or ``flask --app network …``): keys, backup and
restore, organisations and accounts, and the registration of every command group (the audit
log's in :mod:`network.audit_cli`, the demo region, the scheduler, the features'). Each command is one unit of work
(:func:`network.transaction.command`) and calls the same services as the views."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from network import create_app
from network.accounts import add_membership, create_account
from network.audit_cli import audit_cli
from network.backup import BackupError, backup, restore
from network.config import METRICS_TOKEN, generate_secrets, new_metrics_token, write_secrets_file
from network.db import db
from network.demo import demo_cli
from network.directory import create_organisation, create_region
from network.doctor_cli import doctor
from network.errors import ValidationFailed
from network.keys import add_field_key, add_signing_key, count_by_key, reencrypt, retire_field_key
from network.models import Organisation, OrganisationType, Region, Role
from network.permissions import system_principal
from network.progress import progress, quiet_option
from network.scheduler import scheduler_cli
from network.transaction import command
from network.web import keyring


def _secrets_path() -> Path:
    return Path(current_app.config["SECRETS_FILE"])


# -- backup ------------------------------------------------------------------------------

@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@quiet_option
@with_appcontext
def backup_command(file: Path, quiet: bool) -> None:
    """Write a consistent backup of the database to FILE (online; the hub may keep running).
    The secrets file is not in it: back that up separately."""

    try:
        with progress("backup", quiet=quiet) as on_progress:
            result = backup(db.engine, file, on_progress=on_progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup of the {result.engine} database written to {result.path} ({result.size_bytes} bytes)")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@quiet_option
@with_appcontext
def restore_command(file: Path, quiet: bool) -> None:
    """Restore a backup made with `schakel backup` into the configured database, which must be
    new and empty. Then run `schakel db upgrade`, `schakel audit seal` and `schakel audit verify`."""

    try:
        with progress("restore", quiet=quiet) as on_progress:
            restore(file, db.engine, on_progress=on_progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {file}; next: `schakel db upgrade`, `schakel audit seal`, then `schakel audit verify` "
               f"(with the same secrets file)")


# -- keys --------------------------------------------------------------------------------

keys_cli = click.Group("keys", help="Sleutels: aanmaken, roteren, herversleutelen.")


@click.command("init-secrets")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), required=True)
def init_secrets(path: Path) -> None:
    """Write a new, complete secrets file (mode 0600) for a production install.

    A plain command (no app needed): in production the app cannot start without this file."""

    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite keys")
    write_secrets_file(path, generate_secrets())
    click.echo(f"wrote {path}")


def _rewrite_secrets(updated: dict) -> None:

    write_secrets_file(_secrets_path(), updated)


@keys_cli.command("rotate-field-key")
@with_appcontext
def keys_rotate_field_key() -> None:
    """Add a new field-encryption key and make it current (then restart, then reencrypt)."""

    updated, kid = add_field_key(current_app.config["SECRETS"])
    _rewrite_secrets(updated)
    click.echo(f"new field key {kid} is current; restart the hub, then run `schakel keys reencrypt`")


@keys_cli.command("rotate-signing-key")
@with_appcontext
def keys_rotate_signing_key() -> None:
    """Add a new Ed25519 signing key and make it current; old public keys stay published."""

    updated, kid = add_signing_key(current_app.config["SECRETS"])
    _rewrite_secrets(updated)
    click.echo(f"new signing key {kid} is current; restart the hub")


@keys_cli.command("reencrypt")
@quiet_option
@command
def keys_reencrypt(quiet: bool) -> None:
    """Re-encrypt every stored value with the current field key."""

    with progress("re-encrypting (values)", quiet=quiet) as on_progress:
        changed = reencrypt(db.session, keyring(), on_progress=on_progress)
    click.echo(f"re-encrypted {changed} values; now by key: {count_by_key(db.session)}")


@keys_cli.command("retire-field-key")
@click.argument("kid")
@with_appcontext
def keys_retire_field_key(kid: str) -> None:
    """Remove an old field key once no stored value uses it."""

    try:
        updated = retire_field_key(current_app.config["SECRETS"], db.session, kid)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _rewrite_secrets(updated)
    click.echo(f"retired field key {kid}; restart the hub")


@keys_cli.command("status")
@with_appcontext
def keys_status() -> None:
    """Show the key ids in use (never the keys)."""

    secrets_ = current_app.config["SECRETS"]
    click.echo(f"field keys: {sorted(secrets_['field_keys'])} current={secrets_['field_key_current']}")
    click.echo(f"signing keys: {sorted(secrets_['signing_keys'])} current={secrets_['signing_key_current']}")
    click.echo(f"ciphertexts by key: {count_by_key(db.session)}")
    click.echo(f"metrics token: {'set' if secrets_.get(METRICS_TOKEN) else 'not set (/metrics is off)'}")


@keys_cli.command("metrics-token")
@click.option("--rotate", is_flag=True, help="Vervang een bestaand token (daarna de hub herstarten).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Schrijf het token naar dit bestand (mode 0600), voor Prometheus' credentials_file.")
@with_appcontext
def keys_metrics_token(rotate: bool, output: Path | None) -> None:
    """The bearer token of /metrics: added to the secrets file when it has none (or with
    --rotate), then printed, or written to --output for the monitoring's scrape config."""

    path = _secrets_path()
    # the file as it is now (another run of this command may have added a token since the start)
    secrets_ = json.loads(path.read_text()) if path.exists() else dict(current_app.config["SECRETS"])
    token = secrets_.get(METRICS_TOKEN)
    changed = rotate or not token
    if changed:
        token = secrets_[METRICS_TOKEN] = new_metrics_token()
        _rewrite_secrets(secrets_)
    if output is not None:
        write_token_file(output, token)
        click.echo(f"metrics token written to {output}")
    else:
        click.echo(token)
    if changed:
        click.echo(f"{_secrets_path()} holds the new token; restart the hub (web workers) to use it", err=True)


def write_token_file(path: Path, token: str) -> None:
    """``token`` alone in ``path``, mode 0600 (a scraper's ``credentials_file``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)


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


def register_cli(app: Flask) -> None:
    """Attach every command group; features add theirs here too (imported here, never at
    module level: network imports no feature)."""
    from referrals.placements.cli import stages_cli  # features: network must not import them at module level
    from socialmap.cli import socialmap_cli

    app.cli.add_command(audit_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(demo_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(org_cli)
    app.cli.add_command(account_cli)
    app.cli.add_command(socialmap_cli)
    app.cli.add_command(stages_cli)


def _create_app(*args, **kwargs):

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Schakel, de regionale hub van school naar werk."""


main.add_command(init_secrets)
main.add_command(doctor)
