"""``schakel socialmap …``: the sociale kaart as HSDS 3.0 files, out and in. Registered by
:func:`network.cli.register_cli`; each command is one unit of work (network.transaction)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from network.audit import AuditAction, record
from network.db import db
from network.errors import DomainError
from network.models import Region
from network.permissions import system_principal
from network.progress import progress, quiet_option
from network.transaction import command, rollback
from socialmap.exchange import stream_package
from socialmap.hsds_import import import_document
from socialmap.hsds_schema import NotHsds, schema_problems
from socialmap.tags import SocialmapTag

socialmap_cli = click.Group("socialmap", help="De sociale kaart: HSDS 3.0-bestanden exporteren en importeren.")

#: the report's words for the outcomes (socialmap.hsds_import)
RESULT_WORDS = {"created": "nieuw", "updated": "bijgewerkt", "unchanged": "ongewijzigd", "refused": "geweigerd"}


@socialmap_cli.command("export-hsds")
@click.option("--output", "output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Het bestand om de HSDS-export in te schrijven (- voor stdout).")
@click.option("--personal/--no-personal", default=False,
              help="Contactpersonen meenemen (standaard niet: open data).")
@click.option("--active-only/--all", default=False, help="Alleen actieve diensten (standaard alle).")
@quiet_option
@command
def export_hsds_command(output: str, personal: bool, active_only: bool, quiet: bool) -> None:
    """Write the whole sociale kaart as one HSDS 3.0 package (JSON), streamed in flat memory."""

    record(db.session, system_principal(channel="cli", name="schakel socialmap export-hsds"),
           action=AuditAction.export, event_type=SocialmapTag.service_export, object_type="socialmap_service",
           detail={"format": "hsds", "personal": personal})
    count = 0
    with progress("HSDS-export (diensten en organisaties)", quiet=quiet) as on_progress:
        pieces = stream_package(db.session, include_personal=personal, active_only=active_only,
                                on_progress=on_progress)
        if output == "-":
            for piece in pieces:
                click.echo(piece, nl=False)
        else:
            with open(output, "w", encoding="utf-8") as stream:
                for piece in pieces:
                    stream.write(piece)
                    count += len(piece)
    if output != "-":
        click.echo(f"HSDS-export geschreven naar {output} ({count} tekens)", err=True)


@socialmap_cli.command("import-hsds")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--region", "region_code", required=True,
              help="Regiocode (bijvoorbeeld waalrand): nieuwe organisaties komen in deze regio.")
@click.option("--apply", "apply_", is_flag=True,
              help="De wijzigingen opslaan. Zonder --apply is het een proefdraai: het verslag zegt wat er zou "
                   "veranderen en er wordt niets opgeslagen.")
@command
def import_hsds_command(file: Path, region_code: str, apply_: bool) -> None:
    """Import services and their organisations from an HSDS 3.0 JSON file (a service, an
    organization, a service_at_location, a list page or a package as export-hsds writes).

    Prints per service and organisation: nieuw, bijgewerkt (with the fields), ongewijzigd or
    geweigerd (with the reasons). One transaction: everything is saved at the end with --apply,
    nothing without it or on an error."""


    content = file.read_bytes()
    document = _read_hsds(file, content)
    region = db.session.scalar(select(Region).where(Region.code == region_code.strip().lower()))
    if region is None:
        raise click.ClickException(f"onbekende regio {region_code!r}; `schakel org create --region-name` maakt er een")
    actor = system_principal(channel="cli", name="schakel socialmap import-hsds")
    source = f"{file.name} (sha256 {hashlib.sha256(content).hexdigest()})"
    try:  # an error rolls the whole command back (network.transaction.command)
        report = import_document(db.session, actor, region, document, source=source)
    except NotHsds as exc:
        raise click.ClickException(f"{file} is geen HSDS 3.0-bestand dat de import kent: {exc}") from None
    except (DomainError, SQLAlchemyError) as exc:
        reason = getattr(exc, "detail", None) or str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(f"import afgebroken, er is niets opgeslagen: {reason}") from None
    for line in report_lines(report):
        click.echo(line)
    if apply_:
        click.echo(f"Wordt opgeslagen in regio {region.code}.")
    else:
        rollback(db.session)  # a dry run: nothing of it is kept; the command's end commits nothing more
        click.echo("Proefdraai: er is niets opgeslagen. Draai hetzelfde commando met --apply om dit op te slaan.")


def _read_hsds(file: Path, content: bytes):
    """The file's JSON, checked against the official HSDS 3.0 schemas; a one-line
    :class:`click.ClickException` for anything else."""

    try:
        document = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is geen UTF-8-tekst, dus geen HSDS-JSON") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{file} is geen geldige JSON: {exc.msg} (regel {exc.lineno}, kolom {exc.colno})") from None
    try:
        problems = schema_problems(document)
    except NotHsds as exc:
        raise click.ClickException(f"{file} is geen HSDS 3.0-bestand dat de import kent: {exc}") from None
    if problems:
        more = f" (en nog {len(problems) - 1} fout{'en' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise click.ClickException(f"{file} voldoet niet aan het HSDS 3.0-schema: {problems[0]}{more}")
    return document


def report_lines(report) -> list[str]:
    """The import report as lines: every organisation and service, then the figures."""
    lines = []
    for label, outcomes in (("organisatie", report.organisations), ("dienst", report.services)):
        for outcome in outcomes:
            notes = "; ".join(outcome.notes)
            lines.append(f"{label} {outcome.key} {outcome.name!r}: {RESULT_WORDS[outcome.result]}"
                         + (f" ({notes})" if notes else ""))
    figures = report.figures()
    lines.append("Diensten: " + ", ".join(f"{n} {RESULT_WORDS[r]}" for r, n in figures["services"].items())
                 + "; organisaties: " + ", ".join(f"{n} {RESULT_WORDS[r]}" for r, n in figures["organisations"].items())
                 + ".")
    return lines
