"""The management API's OpenAPI schema and its browsable docs (SPEC 8)."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

# Every management resource SPEC 8 names.
SPEC_RESOURCES = (
    "apps",
    "channels",
    "partners",
    "integrations",
    "offers",
    "goals",
    "links",
    "clicks",
    "leads",
    "postbacks",
    "deliveries",
)
PARTNER_PATHS = [
    f"/api/v1/{name}/{suffix}"
    for name in ("apps", "channels", "partners", "integrations", "offers", "goals", "links")
    for suffix in ("", "{id}/")
]


@pytest.mark.django_db
def test_schema_answers_and_lists_the_configuration_endpoints():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert [p for p in PARTNER_PATHS if p not in paths] == []


@pytest.mark.django_db
def test_schema_documents_connecting_a_partner_with_the_wizards_fields():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    request = schema["paths"]["/api/v1/integrations/"]["post"]["requestBody"]["content"]["application/json"]
    component = request["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][component]["properties"]) == {
        "app",
        "partner",
        "partner_name",
        "channel",
        "new_channel_name",
        "postback_url",
        "parameters",
    }


@pytest.mark.django_db
def test_docs_page_answers():
    assert APIClient().get("/api/docs/").status_code == 200


def test_the_whole_api_generates_a_schema_without_warnings_or_errors():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned; run `manage.py spectacular --fail-on-warn`"
    documented = [f"/api/v1/{name}/" for name in SPEC_RESOURCES]
    assert [p for p in documented if p not in schema["paths"]] == []
