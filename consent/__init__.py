"""consent: consents (grant, withdraw, expire, receipts), the access decision's consent and
legal-task bases, and the student portal.

Importing the package registers its basis provider with :func:`network.access.decide` (which
is also ``consent.decide``), its subject finder with :mod:`network.student_reads` (the students
who gave a partner a basis, for the students API) and its scheduled jobs; ``create_app`` imports
it through the views.
"""

from consent.basis import consent_bases, consent_bases_for_organisations, consent_bases_many, consented_subjects
from consent.demo import seed_demo_consents
from consent.jobs import register_jobs
from network.access import (
    decide,
    register_basis_provider,
)
from network.demo import register_demo_seeder
from network.student_reads import register_subject_finder

register_basis_provider(consent_bases, batch=consent_bases_many, organisations=consent_bases_for_organisations)
register_subject_finder(consented_subjects)
register_jobs()
register_demo_seeder("toestemmingen", seed_demo_consents)

__all__ = ["consent_bases", "decide"]
