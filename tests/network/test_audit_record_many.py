from sqlalchemy import event

from network.audit import AuditAction, event_values, record_many
from network.permissions import system_principal
from network.tags import StudentTag


def test_one_insert_for_mixed_rows(session, app):
    from network.db import db
    seen = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    p = system_principal()
    rows = [event_values(p, action=AuditAction.read, event_type=StudentTag.view, basis="consent:1"),
            event_values(p, action=AuditAction.read, event_type=StudentTag.view, basis=None),
            event_values(p, action=AuditAction.read, event_type=StudentTag.view, basis="consent:2", detail={"a": 1})]
    record_many(session, rows)
    session.flush()
    assert len([s for s in seen if s.startswith("INSERT")]) == 1
