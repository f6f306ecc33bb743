"""Words for the portal: roles, bases and actions as a student reads them (Dutch msgids)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "zorgcoordinator": _l("zorgcoördinator"), "mentor": _l("mentor"), "bpv_begeleider": _l("BPV-begeleider"),
    "decaan": _l("decaan"), "partner_staff": _l("medewerker"), "coordinator": _l("uitstroomcoördinator"),
    "hub_admin": _l("beheerder"), "student": _l("leerling"),
}
LEGAL_TASK_LABELS = {
    "onderwijstaak": _l("Wettelijke taak van je school (onderwijs)"),
    "stageovereenkomst": _l("De stageovereenkomst van je school met je stagebedrijf"),
}
#: a representative basis's reference (``representative:curator``) as the student reads it
REPRESENTATIVE_LABELS = {"curator": _l("je curator"), "mentor": _l("je mentor (mentorschap)")}
ACTION_LABELS = {"R": _l("bekeken"), "C": _l("vastgelegd"), "U": _l("gewijzigd"), "D": _l("verwijderd"),
                 "E": _l("uitgevoerd"), "export": _l("gedownload")}
OUTCOME_LABELS = {"success": _l("toegestaan"), "denied": _l("geweigerd"), "failure": _l("geweigerd (storing)")}


def role_label(role: str | None) -> str:
    if not role:
        return str(_l("systeem"))
    return str(ROLE_LABELS.get(role, role))


def basis_label(basis: str | None) -> str:
    """``consent:12,legal_task:rmc-nazorg`` in words."""
    if not basis:
        return str(_l("geen"))
    words = []
    for part in basis.split(","):
        kind, _, ref = part.partition(":")
        if kind == "consent":
            words.append(str(_l("jouw toestemming (nr. %(id)s)", id=ref)))
        elif kind == "legal_task":
            words.append(str(LEGAL_TASK_LABELS.get(ref) or _l("wettelijke taak (%(code)s)", code=ref)))
        elif kind == "self":
            words.append(str(_l("jijzelf")))
        elif kind == "representative":
            words.append(str(REPRESENTATIVE_LABELS.get(ref) or _l("je ouder of voogd")))
        elif kind == "sharing":
            words.append(str(_l("jouw keuze: je deelt je begeleidingsformulier met deze persoon")))
        else:
            words.append(part)
    return "; ".join(words)


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def outcome_label(outcome: str) -> str:
    return str(OUTCOME_LABELS.get(outcome, outcome))
