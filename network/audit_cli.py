"""``schakel audit …``: seal the log, verify it (against witnesses' copies of the checkpoints),
and hand out the proof that an event is in a signed checkpoint. Each command is one unit of
work; verify and prove only read."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from network.audit_chain import seal_all
from network.audit_proof import inclusion_proof
from network.audit_publish import publisher, verify_grace
from network.audit_verify import verify
from network.audit_witness import WitnessError, load_witness
from network.db import db
from network.progress import OnProgress, progress, quiet_option
from network.web import keyring

audit_cli = click.Group("audit", help="Het auditlog: verzegelen, controleren en bewijzen.")


def seal_pending(on_progress: OnProgress | None = None) -> int:
    """Seal every pending event and publish each new checkpoint to the operator's stream."""
    return seal_all(lambda: db.session, keyring(), batch=current_app.config["AUDIT_SEAL_BATCH"],
                    publish=publisher(current_app.config), on_progress=on_progress)


@audit_cli.command("seal")
@quiet_option
@with_appcontext
def audit_seal(quiet: bool) -> None:
    """Chain and sign every event that is not sealed yet."""
    with progress("sealing audit events", quiet=quiet) as on_progress:
        sealed = seal_pending(on_progress)
    click.echo(f"sealed {sealed} events")


@audit_cli.command("verify")
@click.option("--witness", "witnesses", multiple=True, metavar="FILE_OR_URL",
              help="A copy of the checkpoints kept elsewhere (a file or an http(s) URL such as another "
                   "box's /.well-known/audit-checkpoints); may be given more than once. The configured "
                   "AUDIT_CHECKPOINT_FILE is always one.")
@click.option("--roots", is_flag=True, help="Also recompute each checkpoint's Merkle root (slower).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (progress goes to stderr).")
@quiet_option
@with_appcontext
def audit_verify(witnesses: tuple[str, ...], roots: bool, as_json: bool, quiet: bool) -> None:
    """Recompute the hash chain and check every signed checkpoint, and every checkpoint a
    witness kept. Seals nothing. Exits 1 when the log is broken, 2 when a witness is unusable."""
    sources = list(witnesses)
    own = current_app.config.get("AUDIT_CHECKPOINT_FILE")
    if own and Path(own).exists() and own not in sources:
        sources.append(own)
    try:
        kept = [checkpoint for source in sources for checkpoint in load_witness(source, keyring())]
    except WitnessError as exc:
        click.echo(f"WITNESS UNUSABLE: {exc}", err=True)
        sys.exit(2)
    started = time.perf_counter()
    with progress("verifying the audit log (events)", quiet=quiet) as on_progress:
        report = verify(db.session, keyring(), grace=verify_grace(current_app.config), witnesses=kept, roots=roots,
                        on_progress=on_progress)
    elapsed = time.perf_counter() - started
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "checked": report.checked, "checkpoints": report.checkpoints,
                               "witnessed": report.witnessed, "witnesses": sources, "unsealed": report.unsealed,
                               "problem": report.problem, "brokenEventId": report.broken_event_id,
                               "brokenSeq": report.broken_seq, "seconds": round(elapsed, 3)}))
    elif report.ok:
        click.echo(f"audit log OK: {report.checked} events, {report.checkpoints} signed checkpoints, "
                   f"{report.witnessed} witnessed checkpoints from {len(sources)} witnesses ({elapsed:.2f}s)")
        for note in report.notes:
            click.echo(f"note: {note}")
    else:
        click.echo(f"AUDIT LOG BROKEN: {report.problem}", err=True)
    if not report.ok:
        sys.exit(1)


@audit_cli.command("prove")
@click.argument("event_id", type=int)
@with_appcontext
def audit_prove(event_id: int) -> None:
    """Print the proof that event EVENT_ID is in a signed checkpoint (JSON; README: "Proving an
    event" checks it without Schakel)."""
    proof = inclusion_proof(db.session, keyring(), event_id)
    db.session.rollback()
    if proof is None:
        raise click.ClickException(f"event {event_id} does not exist or is not sealed in a version 2 checkpoint yet")
    click.echo(json.dumps(proof, indent=2, ensure_ascii=False))
