"""Signed audit checkpoints leave the database: the public list (``/.well-known/audit-
checkpoints``), the operator's stream (a file of JSON lines and/or syslog) and, through
:mod:`network.webhooks`, the ``audit.checkpoint`` webhook.

Whoever keeps these copies is a witness (as for Certificate Transparency, RFC 9162): ``schakel
audit verify --witness`` checks that the database still agrees with every checkpoint a witness
kept, so a history rewritten, cut short or forked, even one re-signed with the hub's own key,
fails (:mod:`network.audit_witness`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit_chain import AuditCheckpoint, checkpoint_json

log = logging.getLogger(__name__)

#: the most checkpoints one page of the public list holds
PAGE_MAX = 1000


def verify_grace(config: dict[str, Any]) -> dt.timedelta:
    """How late sealing may be: ``AUDIT_VERIFY_GRACE_SECONDS``, else twice the seal interval."""
    seconds = config.get("AUDIT_VERIFY_GRACE_SECONDS") or 2 * config["AUDIT_SEAL_INTERVAL_SECONDS"]
    return dt.timedelta(seconds=seconds)


def checkpoints_page(session: Session, *, before: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Checkpoints newest first, those below seq ``before`` when given; and the ``before`` of
    the next page (None on the last)."""
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditCheckpoint.seq < before)
    rows = session.scalars(query).all()
    page = [checkpoint_json(cp) for cp in rows[:limit]]
    return page, (page[-1]["seq"] if len(rows) > limit else None)


def publisher(config: dict[str, Any]) -> Callable[[dict[str, Any]], None] | None:
    """What writes each new checkpoint to the operator's stream, or None when none is configured.
    A write that fails raises (the scheduler's job run then shows it); the checkpoint is in the
    database and on the public list already."""
    path, syslog = config.get("AUDIT_CHECKPOINT_FILE"), config.get("AUDIT_CHECKPOINT_SYSLOG")
    if not path and not syslog:
        return None

    def publish(checkpoint: dict[str, Any]) -> None:
        line = json.dumps(checkpoint, separators=(",", ":"), sort_keys=True)
        if path:
            _append(Path(path), line)
        if syslog:
            _to_syslog(syslog, line)

    return publish


def _append(path: Path, line: str) -> None:
    """Append one line and wait for the disk: a witness file is only worth what it kept."""
    with path.open("a", encoding="utf-8") as stream:
        stream.write(line + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def _to_syslog(address: str, line: str) -> None:
    if ":" in address and not address.startswith("/"):
        host, _, port = address.rpartition(":")
        target: str | tuple[str, int] = (host, int(port))
    else:
        target = address
    handler = logging.handlers.SysLogHandler(address=target, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
    try:
        handler.emit(logging.makeLogRecord({"msg": f"schakel-audit-checkpoint {line}", "levelno": logging.INFO,
                                            "levelname": "INFO"}))
    finally:
        handler.close()
