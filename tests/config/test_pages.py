"""The home page, the favicon and the error pages: styled per part of the product; JSON on the API."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.urls import path

from accounts.models import Role
from config import urls as project_urls
from config import views
from tests.factories import MembershipFactory, PartnerFactory


def _refuse(request):
    raise PermissionDenied("Only admins and managers can re-send deliveries.")


def _crash(request):
    raise RuntimeError("a bug")


# The project's URLs with three that refuse or fail, under each part of the product.
urlpatterns = [
    path("admin/refuse/", _refuse),
    path("portal/refuse/", _refuse),
    path("refuse/", _refuse),
    path("api/v1/refuse/", _refuse),
    path("admin/crash/", _crash),
    path("portal/crash/", _crash),
    path("crash/", _crash),
    path("api/v1/crash/", _crash),
    *project_urls.urlpatterns,
]
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500

production = override_settings(DEBUG=False, ROOT_URLCONF=__name__)


@pytest.mark.django_db
def test_a_signed_out_visitor_gets_a_home_page_with_links_to_admin_portal_and_api_docs(client):
    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "self-hosted partner management portal" in page
    for href in ('href="/admin/"', 'href="/portal/"', 'href="/api/docs/"', 'href="/healthz"'):
        assert href in page
    assert "home-signed-in" not in page


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_the_home_page_is_no_debug_404_listing_url_patterns(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b"URLconf" not in response.content


@pytest.mark.django_db
def test_a_signed_in_manager_is_sent_to_the_admin_from_home(client, manager):
    client.force_login(manager)

    page = client.get("/").content.decode()

    assert "Go to the admin" in page and "Go to your portal" not in page


@pytest.mark.django_db
def test_a_signed_in_publisher_is_sent_to_the_portal_from_home(client, organization):
    partner = PartnerFactory(organization=organization)
    publisher = MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=partner).user
    client.force_login(publisher)

    page = client.get("/").content.decode()

    assert "Go to your portal" in page and "Go to the admin" not in page


@pytest.mark.django_db
def test_the_admins_view_site_link_goes_to_the_home_page(client, manager):
    client.force_login(manager)

    page = client.get("/admin/").content.decode()

    assert '<a href="/">View site</a>' in page


@pytest.mark.django_db
def test_favicon_ico_answers_with_an_icon(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


@pytest.mark.django_db
@production
@pytest.mark.parametrize(
    ("prefix", "look"),
    [("/admin/", 'id="site-name"'), ("/portal/", "pd-brand"), ("/", "pd-site-nav")],
)
def test_a_refusal_shows_its_sentence_on_a_styled_403_page(client, manager, prefix, look):
    client.force_login(manager)

    response = client.get(f"{prefix}refuse/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "Access denied" in page and look in page
    assert "Only admins and managers can re-send deliveries." in page


@pytest.mark.django_db
@production
def test_a_form_sent_without_its_security_token_gets_a_styled_403_saying_what_to_do():
    response = Client(enforce_csrf_checks=True).post("/portal/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "pd-brand" in page and "reload the page and send it again" in page


@pytest.mark.django_db
@production
@pytest.mark.parametrize(
    ("path", "look"),
    [
        ("/admin/no-such-page/", 'id="site-name"'),
        ("/portal/no-such-page/", "pd-brand"),
        ("/nowhere", "pd-site-nav"),
    ],
)
def test_an_unknown_page_is_a_styled_404(client, manager, path, look):
    client.force_login(manager)

    response = client.get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and look in page
    assert "URLconf" not in page


@pytest.mark.django_db
@production
@pytest.mark.parametrize(
    ("prefix", "look"), [("/admin/", 'id="site-name"'), ("/portal/", "pd-brand"), ("/", "pd-site-nav")]
)
def test_a_crash_is_a_styled_500_page(manager, prefix, look):
    client = Client(raise_request_exception=False)
    client.force_login(manager)

    response = client.get(f"{prefix}crash/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "Server error" in page and look in page
    assert "a bug" not in page


@production
@pytest.mark.parametrize(
    ("path", "look"), [("/admin/x/", 'id="site-name"'), ("/portal/", "pd-brand"), ("/", "pd-site-nav")]
)
def test_the_500_page_renders_without_the_database(path, look):
    """No django_db mark: any query (the session, the user) would fail the test, as a down database would."""
    request = RequestFactory().get(path)
    request.user = AnonymousUser()

    response = views.server_error(request)

    assert response.status_code == 500
    assert look in response.content.decode()


@pytest.mark.django_db
@production
@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/api/v1/no-such-thing/", 404, "No API endpoint at /api/v1/no-such-thing/"),
        ("/api/v1/refuse/", 403, "Only admins and managers can re-send deliveries."),
        ("/api/v1/crash/", 500, "A server error occurred"),
    ],
)
def test_the_api_answers_its_errors_in_json(path, status, detail):
    response = Client(raise_request_exception=False).get(path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert detail in json.loads(response.content)["detail"]


@pytest.mark.django_db
@production
def test_an_api_objects_404_keeps_drfs_detail(api_client_for, manager):
    response = api_client_for(manager).get("/api/v1/partners/999999/")

    assert response.status_code == 404
    assert list(json.loads(response.content)) == ["detail"]


@pytest.mark.django_db
@production
def test_ingestion_paths_keep_their_json_404(client):
    response = client.get("/postback/nope")

    assert response.status_code == 404
    body = json.loads(response.content)
    assert body["ok"] is False and "/postback/lead" in body["error"]
