"""Who may do what in the configuration API: roles, organizations, tokens (SPEC 1 and 8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from accounts.models import Organization, Role
from partners.models import Cap
from tests.factories import (
    AppFactory,
    ChannelFactory,
    GoalFactory,
    IntegrationFactory,
    MembershipFactory,
    OfferFactory,
    PartnerFactory,
    TrackingLinkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Every test here makes users; a slow hasher would only slow the suite down."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _link_payload(organization: Organization) -> dict[str, Any]:
    integration = IntegrationFactory(organization=organization)
    offer = OfferFactory(organization=organization, app=integration.app)
    return {"partner": integration.partner_id, "offer": offer.pk}


@dataclass(frozen=True)
class Resource:
    """An endpoint, how to make one of its objects, a valid creation and a valid change."""

    path: str
    make: Callable[[Organization], Model]
    payload: Callable[[Organization], dict[str, Any]]
    change: dict[str, Any]

    def __str__(self) -> str:
        return self.path.strip("/").rsplit("/", 1)[-1]


RESOURCES = [
    Resource(
        "/api/v1/apps/",
        lambda org: AppFactory(organization=org),
        lambda org: {"name": "New app", "default_url": "https://example.com"},
        {"name": "Renamed"},
    ),
    Resource(
        "/api/v1/channels/",
        lambda org: ChannelFactory(organization=org),
        lambda org: {"name": "Video"},
        {"name": "Renamed"},
    ),
    Resource(
        "/api/v1/partners/",
        lambda org: PartnerFactory(organization=org),
        lambda org: {"name": "New partner"},
        {"status": "paused"},
    ),
    Resource(
        "/api/v1/integrations/",
        lambda org: IntegrationFactory(organization=org),
        lambda org: {"app": AppFactory(organization=org).pk, "partner_name": "New partner"},
        {"status": "paused"},
    ),
    Resource(
        "/api/v1/offers/",
        lambda org: OfferFactory(organization=org),
        lambda org: {"app": AppFactory(organization=org).pk, "name": "New offer"},
        {"status": "paused"},
    ),
    Resource(
        "/api/v1/goals/",
        lambda org: GoalFactory(offer=OfferFactory(organization=org)),
        lambda org: {"offer": OfferFactory(organization=org).pk, "code": "install", "name": "Install"},
        {"name": "Renamed"},
    ),
    Resource(
        "/api/v1/links/",
        lambda org: TrackingLinkFactory(integration=IntegrationFactory(organization=org)),
        _link_payload,
        {"status": "paused"},
    ),
    Resource(
        "/api/v1/caps/",
        lambda org: Cap.objects.create(organization=org, offer=OfferFactory(organization=org), limit=10),
        lambda org: {"offer": OfferFactory(organization=org).pk, "limit": "10"},
        {"limit": "20.0000"},
    ),
]

EDITORS = [Role.ADMIN, Role.MANAGER]


@pytest.fixture(params=RESOURCES, ids=str)
def resource(request) -> Resource:
    return request.param


@pytest.fixture
def user_with_role(request) -> Callable[[str], Any]:
    """The organization's staff user with the given role (only that one is created)."""
    fixture_names = {Role.ADMIN: "admin_user", Role.MANAGER: "manager", Role.ANALYST: "analyst"}
    return lambda role: request.getfixturevalue(fixture_names[role])


@pytest.fixture
def outsider(other_organization):
    """A manager of another organization."""
    return MembershipFactory(organization=other_organization, role=Role.MANAGER).user


@pytest.fixture
def publisher(organization):
    partner = PartnerFactory(organization=organization)
    return MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=partner).user


def _detail(resource: Resource, obj: Model) -> str:
    return f"{resource.path}{obj.pk}/"


@pytest.mark.parametrize("role", EDITORS)
def test_editors_create(api_client_for, user_with_role, organization, resource, role):
    response = api_client_for(user_with_role(role)).post(
        resource.path, resource.payload(organization), format="json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("role", EDITORS)
def test_editors_change(api_client_for, user_with_role, organization, resource, role):
    obj = resource.make(organization)
    response = api_client_for(user_with_role(role)).patch(
        _detail(resource, obj), resource.change, format="json"
    )
    assert response.status_code == 200, response.json()
    for field, value in resource.change.items():
        assert response.json()[field] == value


@pytest.mark.parametrize("role", EDITORS)
def test_editors_delete(api_client_for, user_with_role, organization, resource, role):
    obj = resource.make(organization)
    response = api_client_for(user_with_role(role)).delete(_detail(resource, obj))
    assert response.status_code == 204
    assert not type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("role", [*EDITORS, Role.ANALYST])
def test_staff_list_and_retrieve(api_client_for, user_with_role, organization, resource, role):
    obj = resource.make(organization)
    client = api_client_for(user_with_role(role))
    listed = client.get(resource.path)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [obj.pk]
    retrieved = client.get(_detail(resource, obj))
    assert retrieved.status_code == 200
    assert retrieved.json()["id"] == obj.pk


def test_analyst_cannot_create(api_client_for, analyst, organization, resource):
    response = api_client_for(analyst).post(resource.path, resource.payload(organization), format="json")
    assert response.status_code == 403


def test_analyst_cannot_change(api_client_for, analyst, organization, resource):
    obj = resource.make(organization)
    response = api_client_for(analyst).patch(_detail(resource, obj), resource.change, format="json")
    assert response.status_code == 403


def test_analyst_cannot_delete(api_client_for, analyst, organization, resource):
    obj = resource.make(organization)
    assert api_client_for(analyst).delete(_detail(resource, obj)).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_another_organizations_object_is_not_found(api_client_for, outsider, organization, resource):
    obj = resource.make(organization)
    client = api_client_for(outsider)
    assert client.get(_detail(resource, obj)).status_code == 404
    assert client.patch(_detail(resource, obj), resource.change, format="json").status_code == 404
    assert client.delete(_detail(resource, obj)).status_code == 404
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_another_organizations_object_answers_like_a_missing_one(
    api_client_for, outsider, organization, resource
):
    obj = resource.make(organization)
    client = api_client_for(outsider)
    foreign = client.get(_detail(resource, obj))
    missing = client.get(f"{resource.path}987654321/")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


def test_another_organization_never_lists_this_organizations_objects(
    api_client_for, outsider, organization, other_organization, resource
):
    resource.make(organization)
    theirs = resource.make(other_organization)
    response = api_client_for(outsider).get(resource.path)
    assert [row["id"] for row in response.json()["results"]] == [theirs.pk]


def test_requests_without_a_token_are_unauthorized(organization, resource):
    obj = resource.make(organization)
    client = APIClient()
    assert client.get(resource.path).status_code == 401
    assert client.get(_detail(resource, obj)).status_code == 401
    assert client.post(resource.path, resource.payload(organization), format="json").status_code == 401


def test_a_wrong_token_is_unauthorized(organization, resource):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get(resource.path).status_code == 401


def test_publishers_are_forbidden(api_client_for, publisher, organization, resource):
    obj = resource.make(organization)
    client = api_client_for(publisher)
    assert client.get(resource.path).status_code == 403
    assert client.get(_detail(resource, obj)).status_code == 403
    assert client.post(resource.path, resource.payload(organization), format="json").status_code == 403
