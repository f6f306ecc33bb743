"""``schakel stages …``: a school's stageprotocol settings (evaluations every N weeks, the working
days before the zorgcoördinator is told). Registered by :func:`network.cli.register_cli`; one
unit of work (network.transaction)."""

from __future__ import annotations

import click

from network.db import db
from network.errors import ValidationFailed
from network.models import Organisation, OrganisationType
from network.permissions import system_principal
from network.transaction import command
from referrals.placements.protocol import set_settings, settings_for

stages_cli = click.Group("stages", help="Stages: de instellingen van het stageprotocol per school.")


@stages_cli.command("protocol")
@click.argument("school_id", type=int)
@click.option("--evaluatie-weken", "weeks", type=int, help="Een evaluatie om de zoveel weken (1-26).")
@click.option("--escalatie-werkdagen", "days", type=int,
              help="Werkdagen na de herinnering voordat de zorgcoördinator het hoort (1-20).")
@command
def protocol_command(school_id: int, weeks: int | None, days: int | None) -> None:
    """Show, or with the options change, the stageprotocol settings of school SCHOOL_ID."""
    school = db.session.get(Organisation, school_id)
    if school is None or school.type is not OrganisationType.school:
        raise click.ClickException(f"Er is geen school met nummer {school_id}.")
    if weeks is not None or days is not None:
        try:
            set_settings(db.session, system_principal("cli", "schakel stages protocol"), school.id,
                         evaluation_weeks=weeks, escalate_after_working_days=days)
        except ValidationFailed as exc:
            raise click.ClickException(" ".join(str(m) for ms in exc.errors.values() for m in ms)) from None
    weeks_now, days_now = settings_for(db.session, school.id)
    click.echo(f"{school.name}: evaluatie om de {weeks_now} weken; de zorgcoördinator hoort het "
               f"{days_now} werkdagen na de herinnering.")
