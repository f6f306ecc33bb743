"""Language: Dutch by default, English as a choice.

The choice is explicit (the language switch, saved in the session and on the account). The
browser's Accept-Language is not followed: most Dutch users run English-language browsers at
work, and the hub's users expect Dutch unless they ask otherwise.
"""

from __future__ import annotations

from flask import current_app, session


def select_locale() -> str:
    chosen = session.get("locale") if session else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]
