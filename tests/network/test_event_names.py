"""Event names are data (network.events): audit event types, notification kinds, signal and
webhook names are enum members, declared once, and the code types none of them out as a string.

The values are stored (audit log, notifications) or public (webhooks), so the lists below pin
them: a new name may be added, none may change or go.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import consent.tags
import network.tags
import referrals.tags
import socialmap.tags
from network import signals
from network.audit import AuditAction, AuditEvent, event_values, record, record_many
from network.events import DomainEvent, EventTag, NotificationKind
from network.notifications import Notification, notify, notify_many
from network.permissions import system_principal
from network.tags import StudentTag
from network.webhooks import EVENT_SCOPES, EVENT_TYPES, emit
from referrals.states import ReferralStatus
from referrals.tags import TRANSITION_NOTICES, TRANSITION_TAGS, ReferralNotice, ReferralTag

ROOT = Path(__file__).resolve().parents[2]
FEATURE_TAGS = (network.tags, consent.tags, referrals.tags, socialmap.tags)
#: the modules that declare names (where the strings are meant to be)
DECLARING = {"network/events.py", *(f"{m.__name__.replace('.', '/')}.py" for m in FEATURE_TAGS)}

#: every audit event type the code wrote when the names became data (issue 17): they are in
#: stored, hash-chained logs, so each must stay a member with exactly this value
STORED_TAGS = frozenset("""
account:create account:deactivate account:reactivate
agreement:bundle agreement:consent-request agreement:create agreement:decline agreement:diff-view
agreement:edit-form agreement:end agreement:end-form agreement:list agreement:new-form agreement:offer
agreement:offer-form agreement:pdf agreement:print agreement:sign agreement:update agreement:version-view
agreement:view
api_client.create api_client.revoke api_client.rotate api_client.token
auth:login auth:logout auth:password_change auth:password_reset auth:password_reset_request
auth:reauthenticate auth:totp_disable auth:totp_enable
checkin:form checkin:list checkin:record checkin:remind checkin:rmc-alert checkin:rmc-view
consent:access-log consent:category-update consent:download-page consent:expire consent:export consent:grant
consent:legal-task-create consent:legal-task-update consent:overview consent:portal consent:purpose-create
consent:purpose-update consent:receipt consent:receipts consent:record-form consent:remind
consent:representative consent:representative-end consent:request consent:request-cancel consent:shared-list
consent:shared-view consent:view consent:withdraw consent:withdraw-form
intake:form intake:record intake:view
membership:create
organisation:create organisation:key-register organisation:key-revoke organisation:update
referral:accepted referral:assign referral:cancelled referral:completed referral:create
referral:dashboard_export referral:draft referral:entered-in-error referral:escalate referral:failed
referral:handover referral:in-progress referral:list referral:note referral:nudge referral:on-hold
referral:packet referral:packet-wiped referral:preview referral:rejected referral:remind referral:send
referral:update referral:view referral:wizard
region:create
route:close route:create route:exit route:list route:open-form route:timeline route:update route:view
socialmap:category:save socialmap:import:cancel socialmap:import:confirm socialmap:import:hsds socialmap:import:stage
socialmap:service:capacity socialmap:service:create socialmap:service:export socialmap:service:update
socialmap:service:verify socialmap:service:verify-request
student:create student:edit student:list student:update student:view
webhook:replay webhook:rotate webhook:subscribe webhook:unsubscribe webhook:update
""".split())
#: the tags written before the ``object:verb`` shape was the rule; kept, as they are stored
OLDER_SHAPE = frozenset({"api_client.create", "api_client.revoke", "api_client.rotate", "api_client.token"})
TAG_SHAPE = re.compile(r"^[a-z][a-z_]*(:[a-z][a-z_-]*){1,2}$")

#: every notification kind when the names became data (stored in the notification table)
STORED_KINDS = frozenset("""
agreement_active agreement_declined agreement_review agreement_sign agreement_sign_reminder
checkin:due checkin:rmc-alert
referral:accepted referral:assigned referral:cancelled referral:completed referral:entered-in-error
referral:escalation referral:failed referral:handover referral:in-progress referral:nudge referral:on-hold
referral:packet-withdrawn referral:rejected referral:reminder referral:requested referral:update
""".split())
#: the webhook event types partners subscribe to: a public API (README, OpenAPI)
WEBHOOK_NAMES = frozenset({"referral.created", "referral.updated", "consent.withdrawn",
                           "agreement.awaiting_signature", "socialmap.changed", "audit.checkpoint",
                           "placement.created", "placement.updated", "placement.status_changed",
                           "placement.contact_recorded", "placement.assessment_submitted"})


def subclasses(base: type) -> list[type]:
    found = []
    for cls in base.__subclasses__():
        found += [cls, *subclasses(cls)]
    return found


def members(base: type) -> list:
    return [member for cls in subclasses(base) for member in cls]


# -- only members are accepted -------------------------------------------------------------------

def test_record_and_event_values_refuse_a_plain_string(session):
    principal = system_principal()
    with pytest.raises(TypeError, match="EventTag"):
        record(session, principal, action=AuditAction.read, event_type="student:view")
    with pytest.raises(TypeError, match="EventTag"):
        event_values(principal, action=AuditAction.read, event_type="student:view")
    row = event_values(principal, action=AuditAction.read, event_type=StudentTag.view)
    with pytest.raises(TypeError, match="EventTag"):
        record_many(session, [row, {**row, "event_type": "student:view"}])
    assert not any(isinstance(obj, AuditEvent) for obj in session.new)


def test_a_member_is_stored_as_its_string(session):
    event = record(session, system_principal(), action=AuditAction.read, event_type=StudentTag.view)
    session.flush()
    session.expire(event)
    assert type(event.event_type) is str and event.event_type == "student:view" == StudentTag.view


def test_notify_refuses_a_plain_string(session, keyring):
    with pytest.raises(TypeError, match="NotificationKind"):
        notify(session, keyring, [1], kind="referral:requested", title="x")
    with pytest.raises(TypeError, match="NotificationKind"):
        notify_many(session, keyring, [([1], "referral:requested", "x", None)])
    assert not any(isinstance(obj, Notification) for obj in session.new)


def test_emit_takes_only_a_domain_event_partners_can_subscribe_to(session, keyring):
    with pytest.raises(TypeError, match="DomainEvent"):
        emit(session, keyring, "socialmap.changed", {"id": "x"}, None)
    with pytest.raises(ValueError, match="consent.granted"):
        emit(session, keyring, DomainEvent.consent_granted, {"id": 1}, None)


# -- the declarations ------------------------------------------------------------------------------

def test_audit_tags_are_unique_across_features_and_keep_their_shape():
    tags = members(EventTag)
    values = [tag.value for tag in tags]
    assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)
    for cls in subclasses(EventTag):
        assert cls.__module__ in {m.__name__ for m in FEATURE_TAGS}, f"{cls.__name__} is declared outside a tags module"
        # one enum per first part of the name: all of ConsentTag is consent:…
        assert len({re.split("[:.]", tag.value)[0] for tag in cls}) == 1, cls.__name__
    assert [v for v in values if not TAG_SHAPE.match(v) and v not in OLDER_SHAPE] == []


def test_no_stored_audit_tag_changed_or_went():
    assert STORED_TAGS - {tag.value for tag in members(EventTag)} == set()


def test_notification_kinds_are_unique_and_none_changed_or_went():
    values = [kind.value for kind in members(NotificationKind)]
    assert len(values) == len(set(values))
    assert STORED_KINDS - set(values) == set()


def test_every_transition_has_its_tag_and_notice():
    reachable = {target for target in ReferralStatus if target not in (ReferralStatus.draft, ReferralStatus.requested)}
    assert set(TRANSITION_TAGS) == reachable == set(TRANSITION_NOTICES)
    assert all(TRANSITION_TAGS[s] == f"referral:{s.value}" == TRANSITION_NOTICES[s] for s in reachable)
    assert isinstance(TRANSITION_TAGS[ReferralStatus.accepted], ReferralTag)
    assert isinstance(TRANSITION_NOTICES[ReferralStatus.accepted], ReferralNotice)


def test_webhook_names_are_the_domain_events_partners_already_use():
    assert set(EVENT_TYPES) == set(EVENT_SCOPES) == WEBHOOK_NAMES
    assert all(isinstance(name, DomainEvent) for name in EVENT_TYPES)


def test_each_signal_is_named_by_its_domain_event():
    declared = {name: value for name, value in vars(signals).items() if hasattr(value, "receivers")}
    assert {signal.name for signal in declared.values()} == set(DomainEvent)
    assert all(DomainEvent[name] is signal.name for name, signal in declared.items())


def test_each_domain_event_says_once_which_audit_tags_record_it():
    """A newcomer finds the names of one event side by side: the domain event (signal and
    webhook) and the audit tags, in the announcing feature's tags module."""
    seen: dict[DomainEvent, str] = {}
    for module in FEATURE_TAGS:
        for event, tags in getattr(module, "AUDITED_AS", {}).items():
            assert event not in seen, f"{event} is mapped in {seen[event]} and {module.__name__}"
            seen[event] = module.__name__
            assert tags and all(isinstance(tag, EventTag) for tag in tags)
            # the feature that announces it records it: consent.withdrawn under consent:…
            assert all(tag.__class__.__module__ == module.__name__ for tag in tags)
    # a signed audit checkpoint is the log's own seal: recording it would need another seal
    assert set(seen) == set(DomainEvent) - {DomainEvent.audit_checkpoint}


# -- the code types no name out -----------------------------------------------------------------------

def _python_files() -> list[Path]:
    return [path for package in ("network", "consent", "referrals", "socialmap")
            for path in (ROOT / package).rglob("*.py")
            if "migrations" not in path.parts and path.relative_to(ROOT).as_posix() not in DECLARING]


def _enum_bodies(tree: ast.AST) -> set[int]:
    """Ids of the constants that are the values of other enums' members (a permission may read
    like a tag: ``socialmap:service:export``; it is another namespace)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base).endswith("Enum") for base in node.bases):
            skip |= {id(sub) for stmt in node.body if isinstance(stmt, ast.Assign) for sub in ast.walk(stmt.value)}
    return skip


def _is_text(node: ast.AST | None) -> bool:
    return isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_no_event_name_is_written_as_a_string():
    """Every ``event_type`` the code writes is an EventTag member (record() refuses anything else
    at run time; this finds a string on a path no test walks): no string or f-string passed as
    ``event_type`` or a notification ``kind`` or defaulted as one, and no string anywhere equal to
    a declared name outside the module that declares it."""
    names = {m.value: m for base in (EventTag, NotificationKind) for m in members(base)}
    names.update({m.value: m for m in DomainEvent})
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), str(path))
        where = path.relative_to(ROOT).as_posix()
        skip = _enum_bodies(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                for keyword in node.keywords:
                    if keyword.arg == "event_type" or keyword.arg == "kind" and "notify" in called or \
                            keyword.arg == "kind" and "tell_other_side" in called:
                        if _is_text(keyword.value):
                            found.append(f"{where}:{node.lineno} {keyword.arg}={ast.unparse(keyword.value)}")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = node.args.args + node.args.kwonlyargs
                defaults = ([None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
                            + node.args.kw_defaults)
                for argument, default in zip(arguments, defaults, strict=True):
                    if argument.arg == "event_type" and _is_text(default):
                        found.append(f"{where}:{node.lineno} default {argument.arg}={ast.unparse(default)}")
            elif isinstance(node, ast.Constant) and node.value in names and id(node) not in skip:
                found.append(f"{where}:{node.lineno} {node.value!r} is {names[node.value]!r}")
    assert found == []


def test_no_template_spells_an_event_name():
    names = {m.value for base in (EventTag, NotificationKind) for m in members(base)} | set(DomainEvent)
    quoted = re.compile(r"""["']([a-z_]+(?:[:.][a-z_-]+){1,2})["']""")
    found = [f"{path.relative_to(ROOT)}: {value}" for path in (ROOT / "templates").rglob("*.html")
             for value in quoted.findall(path.read_text()) if value in names]
    assert found == []
