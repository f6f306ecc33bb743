"""Beheer: organisations and accounts (``/beheer``).

Hub admins see and manage everything; the region's uitstroomcoördinator sees the organisations
and accounts of their region; other members see the organisations of their region. Each view
declares its permission, then loads the object inside the caller's walls (404 outside).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from network.accounts import (
    add_membership,
    create_account,
    deactivate_account,
    get_account,
    list_accounts,
    membership_problems,
    reactivate_account,
)
from network.db import db
from network.directory import (
    ROLE_ORGANISATION_TYPES,
    create_organisation,
    find_similar_organisations,
    get_organisation,
    list_organisations,
    list_regions,
    update_organisation,
)
from network.directory_schemas import (
    ORGANISATION_TYPE_LABELS,
    ROLE_LABELS,
    AccountArgs,
    MembershipArgs,
    OrganisationArgs,
    OrganisationEditArgs,
)
from network.errors import Conflict, NotFound, ValidationFailed
from network.keys import register_organisation_key, revoke_organisation_key
from network.models import Membership, OrganisationKey, OrganisationType, Region
from network.permissions import Permission
from network.schemas import load_form
from network.web import current_principal, hasher, redirect_to, require, submit

bp = Blueprint("admin", __name__, url_prefix="/beheer")

ACCOUNTS_PER_PAGE = 50
_ORGANISATION_FIELDS = ("name", "type", "brin", "kvk", "oin", "gemeente", "email", "phone", "website")


def _status(errors: dict) -> int:
    return 400 if errors else 200


def _options() -> dict[str, Any]:
    principal = current_principal()
    return {
        "type_options": [(t.value, label) for t, label in ORGANISATION_TYPE_LABELS.items()],
        "role_options": [(r.value, label) for r, label in ROLE_LABELS.items()],
        "region_options": [(r.id, r.name) for r in list_regions(db.session, principal)],
        "type_labels": ORGANISATION_TYPE_LABELS, "role_labels": ROLE_LABELS,
    }


def _organisation_options() -> list[tuple[int, str]]:
    return [(o.id, f"{o.name} ({o.region.name})") for o in list_organisations(db.session, current_principal())
            if o.is_active]


# -- organisations -------------------------------------------------------------------------

@bp.get("/organisaties")
@require(Permission.organisation_view)
def organisations():
    type_ = request.args.get("soort") or None
    type_ = OrganisationType(type_) if type_ in OrganisationType.__members__ else None
    q = request.args.get("q", "").strip()[:100] or None
    items = list_organisations(db.session, current_principal(), type=type_, q=q)
    return render_template("admin/organisations.html", items=items, q=q or "", soort=type_.value if type_ else "",
                           **_options())


@bp.route("/organisaties/nieuw", methods=["GET", "POST"])
@require(Permission.organisation_manage)
def organisation_new():
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = load_form(OrganisationArgs, request.form)
        if data is not None:
            region = db.session.get(Region, data.pop("region_id"))
            try:
                if region is None:
                    raise ValidationFailed(errors={"region_id": [_("Kies een regio uit de lijst.")]})
                # a probable duplicate (same KvK/BRIN, very similar name) is offered for merge first
                candidates = [] if request.form.get("toch_nieuw") else find_similar_organisations(
                    db.session, region_id=region.id, name=data["name"], kvk=data.get("kvk"), brin=data.get("brin"))
                exact = any(c.name.strip().lower() == data["name"].strip().lower() for c, _reason in candidates)
                if candidates and not exact:  # the exact same name stays a field error (below)
                    return render_template("admin/organisation_duplicates.html", values=values,
                                           candidates=candidates, region=region)
                organisation = create_organisation(db.session, current_principal(), region=region, **data)
            except ValidationFailed as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                return redirect_to("admin.organisation", _("De organisatie is toegevoegd."),
                                           organisation_id=organisation.id)
    return render_template("admin/organisation_form.html", values=values, errors=errors, organisation=None,
                           **_options()), _status(errors)


@bp.get("/organisaties/<int:organisation_id>")
@require(Permission.organisation_view)
def organisation(organisation_id: int):
    return _organisation_page(get_organisation(db.session, current_principal(), organisation_id))


def _organisation_page(org, *, key_values=None, key_errors=None, status=200):
    principal = current_principal()
    members = []
    if principal.has(Permission.account_view):
        members = db.session.scalars(
            select(Membership).where(Membership.organisation_id == org.id)
            .options(selectinload(Membership.account)).order_by(Membership.id)).all()
    keys = []
    if principal.has(Permission.organisation_key_manage):
        keys = db.session.scalars(select(OrganisationKey).where(OrganisationKey.organisation_id == org.id)
                                  .order_by(OrganisationKey.id)).all()
    return render_template("admin/organisation.html", organisation=org, members=members, keys=keys,
                           key_values=key_values or {}, key_errors=key_errors or {}, **_options()), status


# -- organisation keys: a partner system signs agreements with its own Ed25519 key -----------

@bp.post("/organisaties/<int:organisation_id>/sleutels")
@require(Permission.organisation_key_manage)
def organisation_key_register(organisation_id: int):
    principal = current_principal()
    org = get_organisation(db.session, principal, organisation_id)
    values = {"public_key": request.form.get("public_key", ""), "label": request.form.get("label", "")}
    errors: dict[str, list[str]] = {}
    if not values["public_key"].strip():
        errors["public_key"] = [_("Plak de publieke sleutel (PEM of base64url).")]
    if len(values["label"]) > 120:
        errors["label"] = [_("Houd de omschrijving korter dan 120 tekens.")]
    if not errors:
        try:
            key = register_organisation_key(db.session, principal, org, public_key=values["public_key"],
                                            label=values["label"].strip())
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            return redirect_to("admin.organisation", _("De sleutel is geregistreerd met sleutel-id %(kid)s.",
                                                               kid=key.kid), organisation_id=org.id)
    return _organisation_page(get_organisation(db.session, principal, organisation_id), key_values=values,
                              key_errors=errors, status=400)


@bp.post("/organisaties/<int:organisation_id>/sleutels/<int:key_id>/intrekken")
@require(Permission.organisation_key_manage)
def organisation_key_revoke(organisation_id: int, key_id: int):
    org = get_organisation(db.session, current_principal(), organisation_id)
    key = db.session.get(OrganisationKey, key_id)
    if key is None or key.organisation_id != org.id:
        raise NotFound(_("Deze sleutel bestaat niet."))
    revoke_organisation_key(db.session, current_principal(), key)
    return redirect_to("admin.organisation", _("De sleutel %(kid)s is ingetrokken. Wat ermee ondertekend is, "
                                                       "blijft controleerbaar.", kid=key.kid), organisation_id=org.id)


@bp.route("/organisaties/<int:organisation_id>/bewerken", methods=["GET", "POST"])
@require(Permission.organisation_manage)
def organisation_edit(organisation_id: int):
    org = get_organisation(db.session, current_principal(), organisation_id)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "GET":
        values = {name: getattr(org, name) or "" for name in _ORGANISATION_FIELDS}
        values.update(type=org.type.value, version=org.version, is_active="1" if org.is_active else "")
    else:
        values = request.form.to_dict()
        data, errors = load_form(OrganisationEditArgs, request.form)
        if data is not None:
            data.pop("region_id", None)
            version = data.pop("version")
            try:
                update_organisation(db.session, current_principal(), org, expected_version=version, **data)
            except (ValidationFailed, Conflict) as exc:
                db.session.rollback()
                errors = exc.errors or {"version": [str(exc.detail)]}
                status = 409 if isinstance(exc, Conflict) else 400
            else:
                return redirect_to("admin.organisation", _("De wijzigingen zijn opgeslagen."),
                                           organisation_id=org.id)
        status = status if status != 200 else _status(errors)
    return render_template("admin/organisation_form.html", values=values, errors=errors, organisation=org,
                           **_options()), status


# -- accounts ------------------------------------------------------------------------------

@bp.get("/accounts")
@require(Permission.account_view)
def accounts():
    q = request.args.get("q", "").strip()[:100] or None
    page = request.args.get("pagina", 1, type=int) or 1
    result = list_accounts(db.session, current_principal(), q=q, page=page, per_page=ACCOUNTS_PER_PAGE)
    return render_template("admin/accounts.html", result=result, q=q or "", role_labels=ROLE_LABELS)


def _pick_organisation(organisation_id: int):
    try:
        return get_organisation(db.session, current_principal(), organisation_id)
    except NotFound:
        raise ValidationFailed(errors={"organisation_id": [_("Kies een organisatie uit de lijst.")]}) from None


@bp.route("/accounts/nieuw", methods=["GET", "POST"])
@require(Permission.account_manage)
def account_new():
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        values.pop("password", None)
        data, errors = load_form(AccountArgs, request.form)
        if data is not None:
            principal = current_principal()
            try:
                org = _pick_organisation(data["organisation_id"])
                problems = membership_problems(org, data["role"])  # shown together with the account's
                if problems:
                    raise ValidationFailed(errors=problems)
                account = create_account(db.session, principal, email=data["email"], name=data["name"],
                                         password=data["password"], hasher=hasher(),
                                         min_password_length=current_app.config["PASSWORD_MIN_LENGTH"])
                add_membership(db.session, principal, account=account, organisation=org, role=data["role"],
                               title=data["title"])
            except ValidationFailed as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                return redirect_to("admin.account", _("Het account is aangemaakt."), account_id=account.id)
    return render_template("admin/account_form.html", values=values, errors=errors,
                           organisation_options=_organisation_options(), **_options()), _status(errors)


def _account_page(account, values=None, errors=None, status=200):
    return render_template("admin/account.html", account=account, values=values or {}, errors=errors or {},
                           organisation_options=_organisation_options() if current_principal().has(
                               Permission.account_manage) else [],
                           fits={role.value: [t.value for t in types]
                                 for role, types in ROLE_ORGANISATION_TYPES.items()},
                           **_options()), status


@bp.get("/accounts/<int:account_id>")
@require(Permission.account_view)
def account(account_id: int):
    return _account_page(get_account(db.session, current_principal(), account_id))


@bp.post("/accounts/<int:account_id>/lidmaatschappen")
@require(Permission.account_manage)
def account_membership(account_id: int):
    principal = current_principal()
    target = get_account(db.session, principal, account_id)
    values = request.form.to_dict()
    _done, errors = submit(MembershipArgs, request.form, lambda data: add_membership(
        db.session, principal, account=target, organisation=_pick_organisation(data["organisation_id"]),
        role=data["role"], title=data["title"]))
    if not errors:
        return redirect_to("admin.account", _("De rol is toegevoegd."), account_id=target.id)
    return _account_page(get_account(db.session, principal, account_id), values, errors, 400)


@bp.post("/accounts/<int:account_id>/deactiveren")
@require(Permission.account_manage)
def account_deactivate(account_id: int):
    principal = current_principal()
    target = get_account(db.session, principal, account_id)
    try:
        deactivate_account(db.session, principal, target)
    except ValidationFailed as exc:
        db.session.rollback()
        return _account_page(get_account(db.session, principal, account_id), None, exc.errors, 400)
    return redirect_to("admin.account", _("Het account is uitgezet; alle sessies zijn beëindigd."),
                               account_id=target.id)


@bp.post("/accounts/<int:account_id>/activeren")
@require(Permission.account_manage)
def account_reactivate(account_id: int):
    principal = current_principal()
    target = get_account(db.session, principal, account_id)
    reactivate_account(db.session, principal, target)
    return redirect_to("admin.account", _("Het account is weer actief."), account_id=target.id)
