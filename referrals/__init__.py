"""referrals: routes (the Transitieroute of a student: phases, intake, nazorg clock), referrals
(wizard, state machine, warm hand-over, hand-over packet, partner inbox), deadlines (reminders,
escalation), follow-up check-ins and the region's dashboard.

Importing the package connects its consent-signal receivers and registers its jobs, its demo
data, its encrypted columns (for key rotation) and the scopes of the RMC's and UWV's legal tasks
(:mod:`referrals.scope`: the facts they need, exits and referrals, live here) with the core;
``create_app`` imports it through the views.
"""

import referrals.route_export  # noqa: F401 - registers the route's part of the student's download
from network.demo import register_demo_seeder
from network.keys import EncryptedColumn, register_encrypted_column
from referrals.demo import seed_demo_routes
from referrals.demo_referrals import seed_demo_referrals
from referrals.exit_models import Eindgesprek, RouteExit
from referrals.instruments_demo import seed_demo_instruments
from referrals.instruments_models import Instrument
from referrals.jobs import register_jobs
from referrals.models import CheckIn, HandoverPacket, Intake, Referral, ReferralEvent
from referrals.packet import connect_signals
from referrals.scope import register_scopes

connect_signals()
register_scopes()
register_jobs()
for _column in (EncryptedColumn(Intake, "content_encrypted", Intake.content_ref),
                EncryptedColumn(Referral, "details_encrypted", Referral.details_ref),
                EncryptedColumn(ReferralEvent, "body_encrypted", ReferralEvent.body_ref),
                EncryptedColumn(HandoverPacket, "content_encrypted", HandoverPacket.content_ref),
                EncryptedColumn(CheckIn, "note_encrypted", CheckIn.note_ref),
                EncryptedColumn(Eindgesprek, "content_encrypted", Eindgesprek.content_ref),
                EncryptedColumn(RouteExit, "details_encrypted", RouteExit.details_ref),
                EncryptedColumn(Instrument, "note_encrypted", Instrument.note_ref)):
    register_encrypted_column(_column)
register_demo_seeder("trajecten", seed_demo_routes, after=("sociale-kaartregels",))
register_demo_seeder("verwijzingen", seed_demo_referrals, after=("trajecten", "toestemmingen"))
register_demo_seeder("instrumenten", seed_demo_instruments, after=("trajecten",))
