"""Signed multi-party agreements per student: the school-naar-werk-plan and the AVG privacy
agreement, versioned, signed with Ed25519 over RFC 8785 canonical JSON, and verifiable by
anyone with the published keys (DESIGN.md rule 4).

- :mod:`.models`: agreements, versions, parties, signatures, events, review moments;
- :mod:`.content`: the sections of the plan and of the privacy agreement, as data;
- :mod:`.access`: the walls and the audited read (through ``consent.decide``);
- :mod:`.service`: content, creating and editing (sections, parties), the event history;
- :mod:`.lifecycle`: offering a version for signature, review moments, ending;
- :mod:`.signatures`: signing (fresh login, or an organisation's key), declining;
- :mod:`.integrity`: verifying as stored and making bundles; what proves a signature existed
  (the chain of signatures, the audit log, the bundle's seal), so none vanishes unnoticed;
- :mod:`.documents`: canonical documents, hashes, statements and bundle verification;
- :mod:`.sharing`: the consistency check against consents and legal tasks;
- :mod:`.reminders` and :mod:`.jobs`: signature reminders and review moments;
- :mod:`.blueprint`, :mod:`.views` and :mod:`.edit_views`: the school's pages, with
  :mod:`.forms` (the edit forms in and out) and :mod:`.overview` (what the pages show).

Importing the package registers its jobs, its demo data and its encrypted column (for key rotation).
"""

from consent.agreements.demo import seed_demo_agreements
from consent.agreements.jobs import register_jobs
from consent.agreements.models import AgreementVersion
from network.demo import register_demo_seeder
from network.keys import EncryptedColumn, register_encrypted_column

register_jobs()
register_encrypted_column(EncryptedColumn(AgreementVersion, "content_encrypted", AgreementVersion.content_ref))
register_demo_seeder("overeenkomsten", seed_demo_agreements, after=("toestemmingen",))
