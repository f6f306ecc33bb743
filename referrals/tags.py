"""The referrals feature's event names: audit tags of referrals, routes, school-naar-werk-gesprekken
(intake), follow-up check-ins and placements (with the employers proposed for the map), the
kinds of its notifications, and which audit tags record the domain events it announces. See
:mod:`network.events`. (The referral's own timeline, the :class:`~referrals.models.EventKind`
rows of :mod:`referrals.referral_timeline`, is another thing.)

The tag values are stored in the hash-chained audit log, the notification kinds in the
notification table: never change one.
"""

from __future__ import annotations

from network.events import DomainEvent, EventTag, NotificationKind
from referrals.states import ReferralStatus as S


class ReferralTag(EventTag):
    # the wizard (reads of the student) and sending
    wizard = "referral:wizard"
    preview = "referral:preview"
    create = "referral:create"
    draft = "referral:draft"
    send = "referral:send"
    # the state machine: the status a transition reached (TRANSITION_TAGS)
    accepted = "referral:accepted"
    rejected = "referral:rejected"
    in_progress = "referral:in-progress"
    on_hold = "referral:on-hold"
    completed = "referral:completed"
    failed = "referral:failed"
    cancelled = "referral:cancelled"
    entered_in_error = "referral:entered-in-error"
    # the warm hand-over, the owner, messages
    handover = "referral:handover"
    assign = "referral:assign"
    update = "referral:update"
    note = "referral:note"
    # deadlines (the deadlines job)
    remind = "referral:remind"
    escalate = "referral:escalate"
    nudge = "referral:nudge"
    # the hand-over packet: read by the receiver, wiped when the consent ends
    packet = "referral:packet"
    packet_wiped = "referral:packet-wiped"
    # reads
    view = "referral:view"
    list = "referral:list"
    dashboard_export = "referral:dashboard_export"


class RouteTag(EventTag):
    create = "route:create"
    update = "route:update"
    exit = "route:exit"
    close = "route:close"
    view = "route:view"
    list = "route:list"
    open_form = "route:open-form"
    timeline = "route:timeline"
    #: the student's own route in the portal (issue 20)
    student_view = "route:student-view"
    #: the region's follow-up term per school level set (referrals.followup_terms)
    followup_term = "route:followup-term"


class IntakeTag(EventTag):
    record = "intake:record"
    form = "intake:form"
    view = "intake:view"


class CheckinTag(EventTag):
    record = "checkin:record"
    remind = "checkin:remind"
    rmc_alert = "checkin:rmc-alert"
    form = "checkin:form"
    list = "checkin:list"
    rmc_view = "checkin:rmc-view"
    #: a "niet bereikt" attempt recorded on a check-in (referrals.contact_attempts)
    attempt = "checkin:attempt"


class PlacementTag(EventTag):
    """Placements (referrals.placements): changes, and reads of the student through them."""

    create = "placement:create"
    update = "placement:update"
    status_change = "placement:status-change"
    view = "placement:view"
    list = "placement:list"
    #: the register or edit form, which shows the student
    form = "placement:form"
    #: the learning goals read from the student's school-naar-werk-plan to prefill a placement
    plan_goals = "placement:plan-goals"
    # the stageprotocol's contacts (item 2)
    contact_record = "placement:contact-record"
    contact_move = "placement:contact-move"
    contact_remind = "placement:contact-remind"
    contact_escalate = "placement:contact-escalate"
    contact_list = "placement:contact-list"
    #: one placement's contacts read through the API (``GET /api/v1/placements/{id}/contacts``)
    contact_view = "placement:contact-view"
    #: the visitekaartje (HTML or PDF), which names the student
    card = "placement:card"
    #: a school's stageprotocol settings changed (``schakel stages protocol``)
    protocol_settings = "placement:protocol-settings"
    # the employer's assessment (item 4)
    assessment_send = "placement:assessment-send"
    assessment_revoke = "placement:assessment-revoke"
    #: the praktijkopleider opened the personal link (actor: the praktijkopleider, channel link)
    assessment_open = "placement:assessment-open"
    assessment_submit = "placement:assessment-submit"
    #: the result read by school staff (page or PDF), with the earlier assessments beside it
    assessment_view = "placement:assessment-view"
    #: the student (or the parent or guardian) reads their assessments in the portal
    assessment_student_view = "placement:assessment-student-view"
    #: the scores copied into the plan's skills (O/V/G) by the stagebegeleider
    assessment_to_plan = "placement:assessment-to-plan"
    # the student's begeleidingsformulier (item 3)
    guidance_save = "placement:guidance-save"
    #: the student's choice of who reads it changed
    guidance_share = "placement:guidance-share"
    #: read by school staff the student chose (or denied to those it did not)
    guidance_view = "placement:guidance-view"
    #: read by the praktijkopleider on the assessment link's page
    guidance_link_view = "placement:guidance-link-view"
    #: the student (or the parent or guardian) reads it in the portal
    guidance_own_view = "placement:guidance-own-view"
    #: the student (or the parent or guardian) reads their placements in the portal
    student_view = "placement:student-view"
    # the company side of the map (item 5)
    #: an employer's feedback text (from a submitted assessment) read on the company's page
    employer_feedback = "placement:employer-feedback"
    #: the route read to propose employers for the student (the route's decision)
    employer_match = "placement:employer-match"
    #: the student's plan (wishes, skills, support need) read to propose employers
    employer_match_plan = "placement:employer-match-plan"


class InstrumentTag(EventTag):
    """The instruments of the move into work on a route (referrals.instruments)."""

    record = "instrument:record"
    #: an instrument's end date set (or corrected) afterwards
    end = "instrument:end"
    #: the route's instruments read (the instruments page, the route page's section)
    view = "instrument:view"
    #: the record form opened (it shows the student's name)
    form = "instrument:form"


class EmployerProposalTag(EventTag):
    """A company proposed for the sociale kaart with a placement, and the editors' answer."""

    create = "employer_proposal:create"
    decide = "employer_proposal:decide"


class ReferralNotice(NotificationKind):
    requested = "referral:requested"
    # the other side moved the referral on (TRANSITION_NOTICES)
    accepted = "referral:accepted"
    rejected = "referral:rejected"
    in_progress = "referral:in-progress"
    on_hold = "referral:on-hold"
    completed = "referral:completed"
    failed = "referral:failed"
    cancelled = "referral:cancelled"
    entered_in_error = "referral:entered-in-error"
    handover = "referral:handover"
    assigned = "referral:assigned"
    update = "referral:update"
    packet_withdrawn = "referral:packet-withdrawn"
    # deadlines
    reminder = "referral:reminder"
    escalation = "referral:escalation"
    nudge = "referral:nudge"


class CheckinNotice(NotificationKind):
    due = "checkin:due"
    rmc_alert = "checkin:rmc-alert"
    #: to the school: a young person in follow-up wants to come back (the retourticket)
    wants_back = "checkin:wants-back"


class PlacementNotice(NotificationKind):
    #: to the region's uitstroomcoördinator: a school proposes a company for the sociale kaart
    employer_proposed = "placement:employer-proposed"
    #: to the proposing school's staff: the editors added (or declined) the company
    employer_decided = "placement:employer-decided"
    #: to the stagebegeleider: a contact of the stageprotocol was not recorded by its date
    contact_overdue = "placement:contact-overdue"
    #: to the school's zorgcoördinator(s): still not recorded some working days later
    contact_escalation = "placement:contact-escalation"
    #: to an employer's staff: an assessment of an internship at their company waits in the hub
    assessment_requested = "placement:assessment-requested"


#: the audit tag of a transition to each status (sending, to requested, is ReferralTag.send)
TRANSITION_TAGS: dict[S, ReferralTag] = {
    S.accepted: ReferralTag.accepted, S.rejected: ReferralTag.rejected, S.in_progress: ReferralTag.in_progress,
    S.on_hold: ReferralTag.on_hold, S.completed: ReferralTag.completed, S.failed: ReferralTag.failed,
    S.cancelled: ReferralTag.cancelled, S.entered_in_error: ReferralTag.entered_in_error,
}
#: what the other side is told of a transition to each status
TRANSITION_NOTICES: dict[S, ReferralNotice] = {
    S.accepted: ReferralNotice.accepted, S.rejected: ReferralNotice.rejected,
    S.in_progress: ReferralNotice.in_progress, S.on_hold: ReferralNotice.on_hold,
    S.completed: ReferralNotice.completed, S.failed: ReferralNotice.failed, S.cancelled: ReferralNotice.cancelled,
    S.entered_in_error: ReferralNotice.entered_in_error,
}

#: the domain events referrals announces (network.signals; partners subscribe to them as
#: webhooks) and the audit tags that record the same event in the log
AUDITED_AS: dict[DomainEvent, tuple[EventTag, ...]] = {
    DomainEvent.referral_sent: (ReferralTag.send,),
    DomainEvent.referral_updated: (*TRANSITION_TAGS.values(), ReferralTag.handover, ReferralTag.assign,
                                   ReferralTag.update, ReferralTag.note),
    DomainEvent.placement_created: (PlacementTag.create,),
    DomainEvent.placement_updated: (PlacementTag.update,),
    DomainEvent.placement_status_changed: (PlacementTag.status_change,),
    DomainEvent.placement_contact_recorded: (PlacementTag.contact_record,),
    DomainEvent.placement_assessment_submitted: (PlacementTag.assessment_submit,),
}


class EindgesprekTag(EventTag):
    """The eindgesprek (seed 004) on a route: recorded, its form opened, read."""

    record = "eindgesprek:record"
    form = "eindgesprek:form"
    view = "eindgesprek:view"


class ExitTag(EventTag):
    """The structured exit of a route (the date itself stays ``route:exit``): its form opened and
    the exit recorded."""

    form = "exit:form"
    record = "exit:record"
    #: the warm hand-over at exit (issue 20, item 3): made, its form opened
    handover = "exit:handover"
    handover_form = "exit:handover-form"
