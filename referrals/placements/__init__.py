"""Placements: a student's internships and work placements on the route (issue 19, item 1),
built to carry the stageprotocol's contacts, the begeleidingsformulier, the employer's
assessment, the company side of the map and the API (items 2–6).

- :mod:`.states`: kinds, the lifecycle table, working days, and their Dutch labels;
- :mod:`.models`: the placement, its events, and the companies proposed for the map;
- :mod:`.access`: the walls and the audited read (the route's, through ``consent.decide``);
- :mod:`.employers`: the employer entries of the sociale kaart, and the proposals of new ones;
- :mod:`.service`: registering and editing, with every check; the plan's eindstage goals and
  werkprocessen copied from an earlier placement;
- :mod:`.lifecycle`: the status steps, and the route's eindstage phase they mark;
- :mod:`.protocol_models`, :mod:`.protocol` and :mod:`.protocol_job`: the stageprotocol's
  contacts (planned, moved, recorded) and the job that reminds and escalates (item 2);
- :mod:`.assessment_form`, :mod:`.assessment_models`, :mod:`.assessment`, :mod:`.assessment_reads`
  and :mod:`.assessment_views`: the employer's assessment, filled in through a personal link (item 4);
- :mod:`.guidance_models`, :mod:`.guidance` and :mod:`.guidance_views`: the student's
  begeleidingsformulier and their choice of who reads it, enforced by the access decision (item 3);
- :mod:`.export`: the placements' part of the student's download;
- :mod:`.reads`: the route's and the school's lists;
- :mod:`.schemas` and :mod:`.forms`: the forms in and out;
- :mod:`.blueprint`, :mod:`.views` and :mod:`.proposal_views`: the pages;
- :mod:`.demo`: placements in every state in the demo region.

Importing the package registers its encrypted columns (for key rotation), the form's readers
(a basis provider of ``network.access``) and its demo data.
"""

import referrals.placements.export
import referrals.placements.guidance  # noqa: F401 - registers the begeleidingsformulier's readers with decide
from network.demo import register_demo_seeder
from network.keys import EncryptedColumn, register_encrypted_column
from referrals.placements.assessment_models import PlacementAssessment
from referrals.placements.demo import seed_demo_placements
from referrals.placements.guidance_models import GuidanceForm
from referrals.placements.models import Placement
from referrals.placements.protocol_models import PlacementContact

register_encrypted_column(EncryptedColumn(Placement, "learning_goals_encrypted", Placement.goals_ref))
register_encrypted_column(EncryptedColumn(PlacementContact, "notes_encrypted", PlacementContact.notes_ref))
register_encrypted_column(EncryptedColumn(PlacementAssessment, "texts_encrypted", PlacementAssessment.text_ref))
register_encrypted_column(EncryptedColumn(GuidanceForm, "texts_encrypted", GuidanceForm.texts_ref))
register_demo_seeder("stages", seed_demo_placements,
                     after=("trajecten", "overeenkomsten", "sociale-kaartregels"))
