"""socialmap: the sociale kaart — services of organisations, "waarvoor te benaderen", contact
points, capacity, freshness, search, and the HSDS 3.0 read API, export and import.

Importing the package registers its scheduled job and its demo data with the core;
``create_app`` imports it through the views.
"""

from network.demo import register_demo_seeder
from socialmap.demo import seed_demo_socialmap
from socialmap.jobs import register_jobs

register_jobs()
register_demo_seeder("sociale-kaartregels", lambda session, keyring, today: seed_demo_socialmap(session, today))
