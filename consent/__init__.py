"""consent: consents (grant, withdraw, expire, receipts), the access decision's consent and
legal-task bases, and the student portal.

Importing the package registers its basis provider with :func:`network.access.decide` (which
is also ``consent.decide``) and its scheduled jobs; ``create_app`` imports it through the views.
"""

from consent.basis import consent_bases, consent_bases_for_organisations, consent_bases_many
from consent.demo import seed_demo_consents
from consent.jobs import register_jobs
from network.access import (
    decide,
    register_basis_provider,
)

from network.demo import register_demo_seeder

register_basis_provider(consent_bases, batch=consent_bases_many, organisations=consent_bases_for_organisations)
register_jobs()
register_demo_seeder("toestemmingen", seed_demo_consents)

__all__ = ["consent_bases", "decide"]
