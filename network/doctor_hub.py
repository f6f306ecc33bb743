"""The lines of ``schakel doctor`` about the hub's background work and its keys: the
scheduler's heartbeat and each job's last run, the outbox and its dead letters, the audit log's
sealing (all from one reading by :func:`network.health.hub_health`), and the key ids the stored
data uses against those in the secrets file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from network.audit_chain import AuditCheckpoint
from network.cli_lang import _, duration, ngettext
from network.doctor import FROM_DATABASE, Check, Status, error_line, guarded, skipped, title_of
from network.health import HubHealth, JobHealth, Lag, hub_health
from network.keys import count_by_key


def hub_checks(session: Session, config: dict[str, Any], secrets_: dict[str, Any] | None, now: dt.datetime, *,
               schema_current: bool) -> Iterator[Check]:
    """The scheduler, each job, the outbox, the dead letters, the audit log, the keys in use."""
    try:
        health = hub_health(session, config, now)
    except SQLAlchemyError as exc:
        session.rollback()
        if not schema_current:  # an older schema lacks what these read: the migrations' line says what to do
            yield from skipped(_("eerst de migraties bijwerken"), FROM_DATABASE)
            return
        reason = _("niet te lezen: %(error)s", error=error_line(exc))
        for check_id in FROM_DATABASE[:-1]:
            yield Check(check_id, title_of(check_id), Status.fail, reason,
                        _("Heeft de databasegebruiker van de hub leesrechten op alle tabellen?"))
    else:
        yield scheduler_check(health)
        for job in health.jobs:
            yield guarded(f"job:{job.job_id}", lambda job=job: job_check(job, health.now,
                                                                        scheduler_down=health.heartbeat_stale))
        yield outbox_check(health)
        yield dead_letters_check(health, config)
        yield audit_check(health)
    yield guarded("keys", lambda: keys_check(session, secrets_))


def _ago(health_now: dt.datetime, moment: dt.datetime) -> str:
    return _("%(span)s geleden", span=duration(health_now - moment))


def _start_scheduler() -> str:
    return _("Start de planner: schakel scheduler run (systemd: schakel-scheduler.service); er draait er precies "
             "één per installatie. Zie het log van de planner voor de reden dat hij stopte.")


def scheduler_check(health: HubHealth) -> Check:
    """The scheduler process's heartbeat, renewed every ``SCHEDULER_HEARTBEAT_SECONDS``."""
    title = title_of("scheduler")
    data = {"heartbeat_at": health.as_json()["heartbeat_at"], "heartbeat_seconds": health.heartbeat_seconds}
    if health.heartbeat_at is None:
        return Check("scheduler", title, Status.fail, _("nog nooit een hartslag gezien"), _start_scheduler(), data)
    if health.heartbeat_stale:
        return Check("scheduler", title, Status.fail,
                     _("geen hartslag sinds %(ago)s (verwacht elke %(seconds)s s)",
                       ago=_ago(health.now, health.heartbeat_at), seconds=health.heartbeat_seconds),
                     _start_scheduler(), data)
    return Check("scheduler", title, Status.ok,
                 _("hartslag %(ago)s", ago=_ago(health.now, health.heartbeat_at)), data=data)


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _not_running(scheduler_down: bool) -> str:
    if scheduler_down:
        return _("Zie de regel Planner hierboven.")
    return _("De planner leeft, maar draait deze taak niet: herstart hem, zodat hij de takenlijst van deze versie "
             "laadt (een planner van voor een upgrade), en zie zijn log.")


def job_check(job: JobHealth, now: dt.datetime, *, scheduler_down: bool = False) -> Check:
    """A job ran within twice its interval, and its newest finished run did not fail."""
    check_id = f"job:{job.job_id}"
    title = title_of(check_id)
    data = {"interval_seconds": job.interval_seconds, "last_started": _stamp(job.last_started),
            "last_success": _stamp(job.last_success), "last_failure": _stamp(job.last_failure)}
    every = _("elke %(span)s", span=duration(dt.timedelta(seconds=job.interval_seconds)))
    if job.last_started is None:
        return Check(check_id, title, Status.fail, _("nog nooit gedraaid (%(every)s)", every=every),
                     _not_running(scheduler_down), data)
    if job.overdue(now):
        return Check(check_id, title, Status.fail,
                     _("niet meer gedraaid sinds %(ago)s (%(every)s)", ago=_ago(now, job.last_started), every=every),
                     _not_running(scheduler_down), data)
    if job.last_failed:
        return Check(check_id, title, Status.fail,
                     _("laatste run mislukt, %(ago)s", ago=_ago(now, job.last_failure)),
                     _("Zie het log van de planner voor de fout; schakel scheduler run-once %(job)s probeert het "
                       "meteen opnieuw.", job=job.job_id), data)
    return Check(check_id, title, Status.ok, _("laatste run %(ago)s, gelukt (%(every)s)",
                                               ago=_ago(now, job.last_started), every=every), data=data)


def outbox_check(health: HubHealth) -> Check:
    """The oldest e-mail or webhook call waiting is younger than ``OUTBOX_LAG_MINUTES``."""
    title = title_of("outbox")
    data = health.as_json()["outbox"]
    if not health.outbox_pending:
        return Check("outbox", title, Status.ok, _("niets in de wachtrij"), data=data)
    waiting = ngettext("%(num)d bericht wacht, het oudste %(ago)s", "%(num)d berichten wachten, het oudste %(ago)s",
                       health.outbox_pending, ago=_ago(health.now, health.outbox_oldest_pending_at))
    if Lag.outbox in health.lags():
        return Check("outbox", title, Status.fail,
                     _("%(waiting)s: langer dan %(limit)s", waiting=waiting,
                       limit=duration(health.thresholds[Lag.outbox])),
                     _("Draait de planner (taak outbox.deliver) en antwoordt de mailserver (de regel SMTP hierboven)? "
                       "Het log van de planner noemt de fout per bericht."), data)
    return Check("outbox", title, Status.ok, waiting, data=data)


def dead_letters_check(health: HubHealth, config: dict[str, Any]) -> Check:
    """No message gave up (``OUTBOX_MAX_ATTEMPTS`` failed attempts, or a webhook subscription gone)."""
    title = title_of("dead_letters")
    data = {"dead": health.outbox_dead}
    if not health.outbox_dead:
        return Check("dead_letters", title, Status.ok, _("geen"), data=data)
    return Check("dead_letters", title, Status.fail,
                 ngettext("%(num)d bericht is opgegeven na %(attempts)s pogingen",
                          "%(num)d berichten zijn opgegeven na %(attempts)s pogingen", health.outbox_dead,
                          attempts=config.get("OUTBOX_MAX_ATTEMPTS", "?")),
                 _("De hub-beheerder verstuurt webhookmeldingen opnieuw op /beheer/webhooks/onbestelbaar; voor "
                   "e-mails noemt het log van de planner de fout (outbox_message.last_error)."), data)


def audit_check(health: HubHealth) -> Check:
    """No audit event waits for its seal longer than ``AUDIT_SEAL_LAG_MINUTES``."""
    title = title_of("audit")
    data = health.as_json()["audit"]
    newest = (_("nieuwste controlepunt %(ago)s", ago=_ago(health.now, health.audit_newest_checkpoint_at))
              if health.audit_newest_checkpoint_at else _("nog geen controlepunt"))
    waiting = ngettext("%(num)d gebeurtenis wacht op verzegeling", "%(num)d gebeurtenissen wachten op verzegeling",
                       health.audit_unsealed)
    if Lag.audit in health.lags():
        return Check("audit", title, Status.fail,
                     _("%(newest)s; %(waiting)s, de oudste al %(span)s", newest=newest, waiting=waiting,
                       span=duration(health.now - health.audit_oldest_unsealed_at)),
                     _("Draait de planner (taak audit.seal)? schakel audit seal verzegelt ze nu."), data)
    return Check("audit", title, Status.ok, f"{newest}; {waiting}", data=data)


def keys_check(session: Session, secrets_: dict[str, Any] | None) -> Check:
    """Every key id in a stored ciphertext, and every key id that signed an audit checkpoint, is
    in the secrets file: a value under a key that is gone can never be read again."""
    title = title_of("keys")
    in_use = count_by_key(session)
    signed_by = sorted(set(session.scalars(select(AuditCheckpoint.key_id).distinct())))
    data: dict[str, Any] = {"ciphertexts_by_key": in_use, "checkpoint_keys": signed_by}
    if secrets_ is None:
        return Check("keys", title, Status.skip, _("geen leesbaar geheimenbestand om mee te vergelijken"), data=data)
    field_keys = secrets_.get("field_keys") if isinstance(secrets_.get("field_keys"), dict) else {}
    signing_keys = secrets_.get("signing_keys") if isinstance(secrets_.get("signing_keys"), dict) else {}
    lost = {kid: count for kid, count in in_use.items() if kid not in field_keys}
    unverifiable = [kid for kid in signed_by if kid not in signing_keys]
    data.update(missing_field_keys=sorted(lost), missing_signing_keys=unverifiable)
    if lost or unverifiable:
        problems = [ngettext("%(num)d waarde is versleuteld met sleutel %(kid)s, die niet in het geheimenbestand staat",
                             "%(num)d waarden zijn versleuteld met sleutel %(kid)s, die niet in het geheimenbestand "
                             "staat", count, kid=kid) for kid, count in sorted(lost.items())]
        problems += [_("controlepunten van het auditlog zijn ondertekend met sleutel %(kid)s, die niet in het "
                       "geheimenbestand staat", kid=kid) for kid in unverifiable]
        return Check("keys", title, Status.fail, "; ".join(problems),
                     _("Zet het geheimenbestand terug dat bij deze database hoort (de back-up van voor de laatste "
                       "sleutelrotatie); zonder die sleutels zijn deze gegevens niet te lezen of te controleren."),
                     data)
    total = sum(in_use.values())
    detail = ngettext("%(num)d versleutelde waarde, alle sleutels aanwezig",
                      "%(num)d versleutelde waarden, alle sleutels aanwezig", total)
    older = sum(count for kid, count in in_use.items() if kid != secrets_.get("field_key_current"))
    if older:
        detail += "; " + ngettext("%(num)d onder een oudere sleutel (schakel keys reencrypt)",
                                  "%(num)d onder een oudere sleutel (schakel keys reencrypt)", older)
    return Check("keys", title, Status.ok, detail, data=data)
