"""Fixtures shared by the whole suite."""

from __future__ import annotations

import copy

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.test import Client, override_settings
from django.utils import translation
from django.utils.translation import trans_real
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.twofactor import second_factor_required
from config import breaker, hotcache, ratelimit
from tests.factories import MembershipFactory, OrganizationFactory
from tests.marking import Marking

# The alias of the read replica in tests (tests/reports/test_replica.py), as REPORTS_DATABASE_URL names it.
REPLICA = "reports"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On PostgreSQL, a second real database stands for the reports replica.

    It is the primary's settings (engine, pool, options) on another database, and its test
    database is created and migrated like the primary's (not a MIRROR, so what a test reads
    from it really comes from elsewhere), only for tests that ask for it with
    `django_db(databases=["default", "reports"])`. Report reads go there only where a test sets
    REPORTS_DATABASE, so every other test runs as without a replica; the router refuses
    migrations only to the alias in REPORTS_DATABASE, which is "default" while databases are set up.
    """
    # A REPORTS_DATABASE_URL in the environment is no test database: this one takes its place.
    settings.REPORTS_DATABASE = "default"
    settings.DATABASES.pop(REPLICA, None)
    primary = settings.DATABASES["default"]
    if primary["ENGINE"].endswith("postgresql"):
        replica = copy.deepcopy(primary)
        replica["NAME"] = f"{primary['NAME']}_ro"
        replica["TEST"]["NAME"] = f"{primary['TEST'].get('NAME') or 'test_' + primary['NAME']}_ro"
        settings.DATABASES[REPLICA] = replica
    # The connection handler read DATABASES when Django started; let it read them again.
    connections.__dict__.pop("settings", None)


@pytest.fixture(scope="session", autouse=True)
def _plain_http():
    """Tests talk plain HTTP to the test client and the live server."""
    with override_settings(SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False):
        yield


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Users get their passwords hashed with a fast hasher: the production PBKDF2 takes a good
    fraction of a second per password by design, and the factories set one for every user."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (Redis when REDIS_URL is set), no process copies, no
    rate-limit counts and every Redis breaker closed."""
    breaker.reset_all()
    hotcache.clear()
    ratelimit.clear()
    cache.clear()
    yield
    breaker.reset_all()
    hotcache.clear()
    ratelimit.clear()
    cache.clear()


@pytest.fixture(autouse=True)
def _force_login_gives_the_second_factor(monkeypatch):
    """`client.force_login(user)` stands for a whole sign-in, the second factor included.

    A login that must have one (admins, superusers) gets a confirmed authenticator and a
    session verified with it, as after a right code. Tests of the code step itself sign in
    through the login pages (tests/accounts/test_second_factor.py).
    """
    force_login = Client.force_login

    def force_login_verified(client: Client, user, backend=None) -> None:
        force_login(client, user, backend)
        if second_factor_required(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            device = device or TOTPDevice.objects.create(user=user, name="Tests", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Acme Games", slug="acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Other Corp", slug="other")


def _member(organization, role: str):
    return MembershipFactory(organization=organization, role=role, user__username=role).user


@pytest.fixture
def admin_user(organization):
    return _member(organization, Role.ADMIN)


@pytest.fixture
def manager(organization):
    return _member(organization, Role.MANAGER)


@pytest.fixture
def analyst(organization):
    return _member(organization, Role.ANALYST)


@pytest.fixture
def api_client_for():
    """An API client authenticated with the given user's token."""

    def make(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def marked():
    """The admin's language (English) answered by the marking catalogue (tests/marking.py) for this test."""
    language = settings.LANGUAGE_CODE
    kept = trans_real._translations.get(language)
    trans_real._translations[language] = Marking()
    trans_real._default = None
    # What an earlier test left active in this thread would answer instead.
    translation.activate(language)
    yield
    translation.deactivate()
    if kept is None:
        del trans_real._translations[language]
    else:
        trans_real._translations[language] = kept
    trans_real._default = None
