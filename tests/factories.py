"""factory_boy factories for the whole suite."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Organization, Role
from partners import models as pm


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")
    is_staff = True

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MANAGER


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Channel

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Channel {n}")


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.App

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"App {n}")
    platform = pm.Platform.ANDROID
    store_id = factory.Sequence(lambda n: f"com.example.app{n}")
    default_url = "https://example.com/app"


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Partner

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Partner {n}")
    kind = pm.Partner.Kind.CUSTOM


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Integration

    organization = factory.SubFactory(OrganizationFactory)
    app = factory.SubFactory(AppFactory, organization=factory.SelfAttribute("..organization"))
    partner = factory.SubFactory(PartnerFactory, organization=factory.SelfAttribute("..organization"))


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Offer

    organization = factory.SubFactory(OrganizationFactory)
    app = factory.SubFactory(AppFactory, organization=factory.SelfAttribute("..organization"))
    name = factory.Sequence(lambda n: f"Offer {n}")
    type = pm.Offer.Type.CPI
    rate = Decimal("2.00")


class LandingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Landing

    offer = factory.SubFactory(OfferFactory)
    name = factory.Sequence(lambda n: f"Landing {n}")
    url = "https://example.com/landing?cid={click_id}"


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Goal

    offer = factory.SubFactory(OfferFactory)
    code = factory.Sequence(lambda n: f"goal{n}")
    name = factory.Sequence(lambda n: f"Goal {n}")
    payout = Decimal("1.50")
    revenue = Decimal("2.00")


class GoalAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.GoalAlias

    goal = factory.SubFactory(GoalFactory)
    offer = factory.SelfAttribute("goal.offer")
    code = factory.Sequence(lambda n: f"alias{n}")


class TrackingLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.TrackingLink

    integration = factory.SubFactory(IntegrationFactory)
    organization = factory.SelfAttribute("integration.organization")
    partner = factory.SelfAttribute("integration.partner")
    offer = factory.SubFactory(
        OfferFactory,
        organization=factory.SelfAttribute("..integration.organization"),
        app=factory.SelfAttribute("..integration.app"),
    )
