"""People: the membership service, the Membership admin of org admins, organization settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import membership_create, membership_delete, membership_set_role
from tests.factories import MembershipFactory, PartnerFactory

User = get_user_model()
PASSWORD = "a-long-Passphrase-2026"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def partner(organization):
    return PartnerFactory(organization=organization, name="AdNet One")


def _change_url(membership: Membership) -> str:
    return reverse("admin:accounts_membership_change", args=[membership.pk])


def _add(admin_client, **data):
    form = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD, "role": Role.MANAGER}
    return admin_client.post(reverse("admin:accounts_membership_add"), {**form, **data})


# The service


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.ANALYST])
def test_a_staff_member_is_created_with_admin_access(organization, role):
    membership = membership_create(
        organization=organization, username="kim", email="kim@example.com", password=PASSWORD, role=role
    )
    user = User.objects.get(username="kim")
    assert membership.user == user and membership.organization == organization and membership.role == role
    assert user.is_staff and not user.is_superuser
    assert user.check_password(PASSWORD)


def test_a_publisher_is_created_without_admin_access(organization, partner):
    membership = membership_create(
        organization=organization,
        username="pub",
        email="pub@example.com",
        password=PASSWORD,
        role=Role.PUBLISHER,
        partner=partner,
    )
    assert membership.partner == partner
    assert not membership.user.is_staff


def test_a_publisher_without_a_partner_is_refused(organization):
    with pytest.raises(ValidationError, match="needs its partner"):
        membership_create(
            organization=organization,
            username="p",
            email="p@example.com",
            password=PASSWORD,
            role=Role.PUBLISHER,
        )
    assert not User.objects.filter(username="p").exists()


def test_a_partner_of_another_organization_is_refused(organization, other_organization):
    foreign = PartnerFactory(organization=other_organization)
    with pytest.raises(ValidationError, match="another organization"):
        membership_create(
            organization=organization,
            username="p",
            email="p@example.com",
            password=PASSWORD,
            role=Role.PUBLISHER,
            partner=foreign,
        )


def test_a_staff_member_with_a_partner_is_refused(organization, partner):
    with pytest.raises(ValidationError, match="Only publisher logins"):
        membership_create(
            organization=organization,
            username="m",
            email="m@example.com",
            password=PASSWORD,
            role=Role.MANAGER,
            partner=partner,
        )


def test_a_new_role_moves_the_staff_flag(manager, partner):
    membership = membership_set_role(membership=manager.membership, role=Role.PUBLISHER, partner=partner)
    manager.refresh_from_db()
    assert membership.role == Role.PUBLISHER and membership.partner == partner
    assert not manager.is_staff
    membership_set_role(membership=membership, role=Role.ANALYST)
    manager.refresh_from_db()
    assert manager.is_staff and manager.membership.partner is None


def test_the_last_admin_cannot_be_demoted(admin_user):
    with pytest.raises(ValidationError, match="needs an admin"):
        membership_set_role(membership=admin_user.membership, role=Role.MANAGER)
    assert Membership.objects.get(pk=admin_user.membership.pk).role == Role.ADMIN


def test_removing_a_member_removes_their_login(admin_user, manager):
    membership_delete(membership=manager.membership)
    assert not User.objects.filter(username="manager").exists()


def test_the_last_admin_cannot_be_removed(admin_user):
    with pytest.raises(ValidationError, match="needs an admin"):
        membership_delete(membership=admin_user.membership)


# The Membership admin


def test_the_member_list_shows_username_email_role_partner_and_last_login(
    admin_client, organization, partner
):
    MembershipFactory(
        organization=organization,
        role=Role.PUBLISHER,
        partner=partner,
        user__username="pubkim",
        user__email="kim@pub.example",
    )
    page = admin_client.get(reverse("admin:accounts_membership_changelist")).content.decode()
    for text in ("pubkim", "kim@pub.example", "Publisher", "AdNet One", "Last login"):
        assert text in page


def test_the_member_list_shows_only_the_organizations_members(admin_client, other_organization):
    MembershipFactory(organization=other_organization, user__username="stranger")
    response = admin_client.get(reverse("admin:accounts_membership_changelist"))
    assert "stranger" not in response.content.decode()
    assert response.context["cl"].result_count == 1


def test_the_member_list_costs_the_same_queries_for_more_members(admin_client, organization, partner):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("admin:accounts_membership_changelist")).status_code == 200
        return len(queries)

    MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=partner)
    few = count()
    for _ in range(5):
        MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=partner)
    assert count() == few


def test_an_admin_adds_a_person_with_a_login(admin_client, organization):
    response = _add(admin_client)
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="newbie")
    assert membership.organization == organization and membership.role == Role.MANAGER
    assert membership.user.is_staff and membership.user.check_password(PASSWORD)


def test_an_admin_adds_a_publisher_login_for_a_partner(admin_client, partner):
    assert _add(admin_client, role=Role.PUBLISHER, partner=partner.pk).status_code == 302
    membership = Membership.objects.get(user__username="newbie")
    assert membership.partner == partner and not membership.user.is_staff


def test_the_add_form_offers_only_the_organizations_partners(admin_client, partner, other_organization):
    PartnerFactory(organization=other_organization, name="Foreign Net")
    page = admin_client.get(reverse("admin:accounts_membership_add")).content.decode()
    assert "AdNet One" in page
    assert "Foreign Net" not in page


def test_the_add_form_refuses_another_organizations_partner(admin_client, other_organization):
    foreign = PartnerFactory(organization=other_organization)
    response = _add(admin_client, role=Role.PUBLISHER, partner=foreign.pk)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["partner"]
    assert not User.objects.filter(username="newbie").exists()


def test_the_add_form_asks_a_publisher_for_its_partner(admin_client):
    response = _add(admin_client, role=Role.PUBLISHER)
    assert "needs its partner" in response.context["adminform"].form.errors["partner"][0]


def test_the_add_form_refuses_a_taken_username(admin_client):
    response = _add(admin_client, username="Admin")
    assert "This username is taken" in response.context["adminform"].form.errors["username"][0]


def test_the_add_form_refuses_a_weak_password(admin_client):
    response = _add(admin_client, password="12345678")
    assert response.context["adminform"].form.errors["password"]
    assert not User.objects.filter(username="newbie").exists()


def test_an_admin_changes_a_members_role(admin_client, manager):
    response = admin_client.post(_change_url(manager.membership), {"role": Role.ANALYST})
    assert response.status_code == 302
    assert Membership.objects.get(pk=manager.membership.pk).role == Role.ANALYST


def test_an_admin_cannot_demote_the_last_admin(admin_client, admin_user):
    response = admin_client.post(_change_url(admin_user.membership), {"role": Role.MANAGER})
    assert response.status_code == 200
    assert "needs an admin" in response.context["adminform"].form.errors["role"][0]


def test_another_organizations_member_is_not_found(admin_client, other_organization):
    stranger = MembershipFactory(organization=other_organization)
    assert admin_client.get(_change_url(stranger)).status_code == 404
    assert admin_client.post(_change_url(stranger), {"role": Role.ADMIN}).status_code == 404


def test_an_admin_removes_a_person(admin_client, manager):
    url = reverse("admin:accounts_membership_delete", args=[manager.membership.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not User.objects.filter(username="manager").exists()


def test_an_admin_cannot_remove_themselves(admin_client, admin_user):
    url = reverse("admin:accounts_membership_delete", args=[admin_user.membership.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=admin_user.pk).exists()


# Organization settings and Django's own people admin


def _organization_url(organization) -> str:
    return reverse("admin:accounts_organization_change", args=[organization.pk])


def test_an_admin_changes_the_organizations_settings(admin_client, organization):
    data = {
        "name": "Acme Games",
        "currency": "EUR",
        "time_zone": "Europe/Berlin",
        "min_payout": "25.00",
        "referral_share": "7.50",
    }
    assert admin_client.post(_organization_url(organization), data).status_code == 302
    organization.refresh_from_db()
    assert (
        organization.currency,
        organization.time_zone,
        organization.min_payout,
        organization.referral_share,
    ) == ("EUR", "Europe/Berlin", Decimal("25.00"), Decimal("7.50"))
    assert organization.slug == "acme"


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ANALYST])
def test_other_staff_see_the_organizations_settings_without_changing_them(client, organization, role):
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    assert client.get(_organization_url(organization)).status_code == 200
    assert client.post(_organization_url(organization), {"currency": "EUR"}).status_code == 403


def test_a_member_sees_only_their_own_organization(admin_client, other_organization):
    response = admin_client.get(reverse("admin:accounts_organization_changelist"))
    assert [o.slug for o in response.context["cl"].result_list] == ["acme"]
    assert admin_client.get(_organization_url(other_organization)).status_code == 404


def test_a_superuser_sees_every_organization(client, organization, other_organization):
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    response = client.get(reverse("admin:accounts_organization_changelist"))
    assert response.context["cl"].result_count == 2


@pytest.mark.parametrize("name", ["admin:auth_user_changelist", "admin:auth_group_changelist"])
def test_djangos_user_and_group_admin_is_for_superusers_only(client, admin_client, name):
    assert admin_client.get(reverse(name)).status_code == 403
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    assert client.get(reverse(name)).status_code == 200
