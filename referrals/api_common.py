"""What the referral and route APIs share: how they load a body and the problem+json answers
their operations document. The helpers themselves (JSON only, ETag and If-Match) are
:mod:`network.api`'s.
"""

from __future__ import annotations

import functools

from flask import current_app

from network.api import json_body

#: a body as the referral and route APIs load it: a nested field's messages named by its path
#: (``details.life_domains.werk.explanation``), and an empty body taken as ``{}``
load_body = functools.partial(json_body, dotted=True, optional=True)


def base_url() -> str:
    return current_app.config.get("BASE_URL", "")


BAD_INPUT = (400, "Ongeldige invoer (JSON, onbekende of ontbrekende velden); `errors` per veld")
NOT_FOUND = (404, "Niet gevonden (of niet van uw organisatie)")
NO_SCOPE = (403, "Geen toegang, of de token mist de scope (`insufficient_scope`)")
