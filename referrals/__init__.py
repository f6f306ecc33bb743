"""referrals: routes (the Transitieroute of a student: phases, intake, nazorg clock), referrals
(wizard, state machine, warm hand-over, hand-over packet, partner inbox), deadlines (reminders,
escalation), follow-up check-ins and the region's dashboard.

Importing the package connects its consent-signal receivers and registers its jobs and demo
data with the core; ``create_app`` imports it through the views.
"""

from network.demo import register_demo_seeder
from referrals.demo import seed_demo_routes
from referrals.demo_referrals import seed_demo_referrals
from referrals.jobs import register_jobs
from referrals.packet import connect_signals

connect_signals()
register_jobs()
register_demo_seeder("trajecten", seed_demo_routes, after=("sociale-kaartregels",))
register_demo_seeder("verwijzingen", seed_demo_referrals, after=("trajecten", "toestemmingen"))
