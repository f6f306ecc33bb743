"""The consent feature's event names: audit tags of consents and of agreements (the
school-naar-werk-plan and the privacy agreement), the kinds of its notifications, and which
audit tags record the domain events it announces. See :mod:`network.events`.

The tag values are stored in the hash-chained audit log, the notification kinds in the
notification table: never change one.
"""

from __future__ import annotations

from network.events import DomainEvent, EventTag, NotificationKind


class ConsentTag(EventTag):
    # consents given, withdrawn, expired (a change, audited with the change)
    grant = "consent:grant"
    withdraw = "consent:withdraw"
    expire = "consent:expire"
    remind = "consent:remind"
    request = "consent:request"
    request_cancel = "consent:request-cancel"
    representative = "consent:representative"
    representative_end = "consent:representative-end"
    # the catalogue of purposes, data categories and legal tasks (hub admin)
    purpose_create = "consent:purpose-create"
    purpose_update = "consent:purpose-update"
    category_update = "consent:category-update"
    legal_task_create = "consent:legal-task-create"
    legal_task_update = "consent:legal-task-update"
    #: a region's settings of the legal tasks' scopes (the RMC's, UWV's)
    task_scope_update = "consent:task-scope-update"
    # reads: school staff
    overview = "consent:overview"
    view = "consent:view"
    record_form = "consent:record-form"
    withdraw_form = "consent:withdraw-form"
    receipts = "consent:receipts"
    # reads: the partner a consent was given to
    shared_list = "consent:shared-list"
    shared_view = "consent:shared-view"
    # reads: the student's own portal
    portal = "consent:portal"
    receipt = "consent:receipt"
    access_log = "consent:access-log"
    #: the proof that a line of the access log is in the sealed audit log was downloaded
    access_proof = "consent:access-proof"
    download_page = "consent:download-page"
    export = "consent:export"


class AgreementTag(EventTag):
    create = "agreement:create"
    update = "agreement:update"
    offer = "agreement:offer"
    sign = "agreement:sign"
    decline = "agreement:decline"
    end = "agreement:end"
    #: a signature or refusal recorded: the log's proof that it existed (integrity.py), written
    #: with the row it proves; its detail is {version, party, declined}
    signature = "agreement:signature"
    # reads (each page that shows the agreement is a read of the student's data)
    list = "agreement:list"
    view = "agreement:view"
    version_view = "agreement:version-view"
    diff_view = "agreement:diff-view"
    new_form = "agreement:new-form"
    edit_form = "agreement:edit-form"
    offer_form = "agreement:offer-form"
    end_form = "agreement:end-form"
    consent_request = "agreement:consent-request"
    # exports
    print = "agreement:print"
    pdf = "agreement:pdf"
    bundle = "agreement:bundle"


class AgreementNotice(NotificationKind):
    sign = "agreement_sign"
    sign_reminder = "agreement_sign_reminder"
    active = "agreement_active"
    declined = "agreement_declined"
    review = "agreement_review"


#: the domain events consent announces (network.signals; partners subscribe to some as webhooks)
#: and the audit tags that record the same event in the log, under their older names
AUDITED_AS: dict[DomainEvent, tuple[EventTag, ...]] = {
    DomainEvent.consent_granted: (ConsentTag.grant,),
    DomainEvent.consent_withdrawn: (ConsentTag.withdraw,),
    DomainEvent.consent_expired: (ConsentTag.expire,),
    # offered to all at once, or in a sequential signing to each next one when the one before signed
    DomainEvent.agreement_awaiting_signature: (AgreementTag.offer, AgreementTag.sign),
}
