"""The admin's role matrix: who may list, add, change and delete what (SPEC 1).

admin and manager may change the configuration, an analyst only looks, another
organization's object is not found. People (memberships) are the admin role's alone;
organization settings are seen by every member and changed by admins.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import AppFactory, ChannelFactory, MembershipFactory, PartnerFactory

ROLES = ["admin", "manager", "analyst", "outsider"]
OK = (200, 302)

# Expected status per role for each view; "ok" is 200 or 302 (a saved form redirects,
# a form with errors shows again: either way the user was allowed).
CONFIGURATION = {
    "changelist": {"admin": "ok", "manager": "ok", "analyst": "ok", "outsider": "ok"},
    "add": {"admin": "ok", "manager": "ok", "analyst": 403, "outsider": "ok"},
    "change_get": {"admin": "ok", "manager": "ok", "analyst": "ok", "outsider": 404},
    "change_post": {"admin": "ok", "manager": "ok", "analyst": 403, "outsider": 404},
    "delete": {"admin": "ok", "manager": "ok", "analyst": 403, "outsider": 404},
}
MEMBERSHIPS = {
    "changelist": {"admin": "ok", "manager": 403, "analyst": 403, "outsider": "ok"},
    "add": {"admin": "ok", "manager": 403, "analyst": 403, "outsider": "ok"},
    "change_get": {"admin": "ok", "manager": 403, "analyst": 403, "outsider": 404},
    "change_post": {"admin": "ok", "manager": 403, "analyst": 403, "outsider": 404},
    "delete": {"admin": "ok", "manager": 403, "analyst": 403, "outsider": 404},
}
ORGANIZATIONS = {
    "changelist": {"admin": "ok", "manager": "ok", "analyst": "ok", "outsider": "ok"},
    "add": {"admin": 403, "manager": 403, "analyst": 403, "outsider": 403},
    "change_get": {"admin": "ok", "manager": "ok", "analyst": "ok", "outsider": 404},
    "change_post": {"admin": "ok", "manager": 403, "analyst": 403, "outsider": 404},
    "delete": {"admin": 403, "manager": 403, "analyst": 403, "outsider": 404},
}

# What a change POST sends: a plausible edit of each object.
CHANGES = {
    "partners_channel": lambda obj: {"name": "Renamed channel"},
    "partners_app": lambda obj: {
        "name": "Renamed app",
        "platform": obj.platform,
        "store_id": obj.store_id,
        "default_url": obj.default_url,
    },
    "partners_partner": lambda obj: {"name": "Renamed partner", "kind": obj.kind, "status": obj.status},
    "accounts_membership": lambda obj: {"role": Role.ANALYST},
    "accounts_organization": lambda obj: {
        "name": obj.name,
        "currency": "EUR",
        "time_zone": "UTC",
        "min_payout": "20.00",
        "referral_share": "5.00",
    },
}


def _cases(model: str, matrix: dict) -> list:
    return [
        pytest.param(model, view, role, matrix[view][role], id=f"{model}-{view}-{role}")
        for view in matrix
        for role in ROLES
    ]


@pytest.fixture
def login(client, organization, other_organization):
    def as_role(role: str):
        if role == "outsider":
            user = MembershipFactory(organization=other_organization, role=Role.ADMIN).user
        else:
            user = MembershipFactory(organization=organization, role=role).user
        client.force_login(user)
        return client

    return as_role


@pytest.fixture
def target(organization):
    """The object of `organization` each view is tried on, by admin URL prefix."""

    def make(model: str):
        if model == "accounts_organization":
            return organization
        if model == "accounts_membership":
            return MembershipFactory(organization=organization, role=Role.MANAGER)
        factory = {
            "partners_channel": ChannelFactory,
            "partners_app": AppFactory,
            "partners_partner": PartnerFactory,
        }[model]
        return factory(organization=organization)

    return make


def _request(client, model: str, view: str, obj):
    if view == "changelist":
        return client.get(reverse(f"admin:{model}_changelist"))
    if view == "add":
        return client.get(reverse(f"admin:{model}_add"))
    if view == "delete":
        return client.get(reverse(f"admin:{model}_delete", args=[obj.pk]))
    url = reverse(f"admin:{model}_change", args=[obj.pk])
    return client.post(url, CHANGES[model](obj)) if view == "change_post" else client.get(url)


def _assert_status(response, expected) -> None:
    if expected == "ok":
        assert response.status_code in OK
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(
    ("model", "view", "role", "expected"),
    [
        *_cases("partners_channel", CONFIGURATION),
        *_cases("partners_app", CONFIGURATION),
        *_cases("partners_partner", CONFIGURATION),
        *_cases("accounts_membership", MEMBERSHIPS),
        *_cases("accounts_organization", ORGANIZATIONS),
    ],
)
def test_each_role_reaches_exactly_what_it_may(login, target, model, view, role, expected):
    obj = target(model)
    _assert_status(_request(login(role), model, view, obj), expected)


@pytest.mark.parametrize("model", ["partners_channel", "partners_app", "partners_partner"])
def test_another_organizations_objects_are_not_listed(login, target, model):
    obj = target(model)
    response = login("outsider").get(reverse(f"admin:{model}_changelist"))
    assert obj not in response.context["cl"].result_list


@pytest.mark.parametrize("role", ["manager", "analyst"])
def test_people_management_is_not_on_the_admin_index_of_managers_and_analysts(login, role):
    response = login(role).get(reverse("admin:index"))
    models = [m["object_name"] for app in response.context["app_list"] for m in app["models"]]
    assert "Membership" not in models
    assert "Organization" in models


def test_people_management_is_on_the_admin_index_of_admins(login):
    response = login("admin").get(reverse("admin:index"))
    models = [m["object_name"] for app in response.context["app_list"] for m in app["models"]]
    assert "Membership" in models
    assert "User" not in models and "Group" not in models
