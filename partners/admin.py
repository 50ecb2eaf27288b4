"""Admin of the configuration side: the managers' home for apps, partners and offers.

Every admin shows one organization's rows and follows the roles (accounts.permissions).
Integrations are made by the partner wizard, which hangs off the app's hub.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, path, re_path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import OrganizationScopedAdmin, OrganizationScopedInline, can_edit, organization_of
from config.crypto import UndecryptableSecret
from config.masking import mask_secret
from config.money import format_money, format_percent
from leads import datacenters
from leads.caps import cap_use_text, cap_uses
from leads.clicks import api_urls
from leads.screening import parse_sources, source_list_paste
from leads.selectors import smart_link_split
from partners import admin_views
from partners.forms import (
    GoalAliasInlineFormSet,
    PostbackTemplateForm,
    PostbackTemplateInlineFormSet,
    TrackingLinkForm,
    TrackingParameterAdminForm,
    TrackingParameterInlineFormSet,
)
from partners.models import (
    INSTALL_POSTBACK_LABEL,
    App,
    Cap,
    Channel,
    Creative,
    DatacenterNetwork,
    Goal,
    GoalAlias,
    GoalPartnerPayout,
    Integration,
    Landing,
    Offer,
    Partner,
    PayoutType,
    PostbackTemplate,
    ScreeningRule,
    SmartLink,
    SmartLinkEntry,
    SourceListEntry,
    TrackingLink,
    TrackingParameter,
    allow_list_lines,
)
from partners.services import (
    DEFAULT_TOKEN_OVERLAP,
    TOKEN_OVERLAPS,
    InboundOwner,
    inbound_secret_ensure,
    signing_secret_of,
)
from partners.tracking import click_url, impression_url, smart_link_url
from partners.wizard import RUN_ID_REGEX, ConnectPartnerWizard
from postbacks.outbound import mask_url

PARTNERS_CSS = {"all": ("partners/partners.css",)}
PARTNERS_JS = ("partners/partners.js",)


def masked(secret: str) -> str:
    """Enough of a secret to recognize it, never enough to use it."""
    return f"{secret[:4]}…{secret[-2:]}" if secret else "—"


class OfferChildChoices:
    """Choices of goals and landings, which reach their organization through the offer."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.related_model in (Goal, Landing):
            kwargs["queryset"] = db_field.related_model._default_manager.filter(
                offer__organization=organization_of(request.user)
            ).select_related("offer")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class MaskedURLsForViewers:
    """Outbound URLs shown masked (`sig=***`) to people who may only view the object.

    A URL template may carry a partner's key or signature; `masked_url_fields` name the fields
    that are replaced, for viewers, by read-only `<name>_shown` displays of the masked URL.
    """

    masked_url_fields: tuple[str, ...] = ()

    def _viewer(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.has_change_permission(request, obj)  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = super().get_readonly_fields(request, obj)  # type: ignore[misc]
        if not self._viewer(request, obj):
            return readonly
        return (*readonly, *(f"{name}_shown" for name in self.masked_url_fields))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if not self._viewer(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [self._shown(field) for field in options["fields"]]})
            for name, options in fieldsets
        ]

    def _shown(self, field: Any) -> Any:
        if isinstance(field, (list, tuple)):
            return type(field)(self._shown(item) for item in field)
        return f"{field}_shown" if field in self.masked_url_fields else field


class ChangeFormContext:
    """Extra context for an existing object's change form, from one `change_form_context` hook.

    The add form has no object to describe, so the hook only runs on change forms.
    """

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self.change_form_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc]


@admin.register(Channel)
class ChannelAdmin(OrganizationScopedAdmin):
    """Marketing channels, also creatable from the wizard."""

    list_display = ("name", "partner_count", "integration_count", "created_at")
    search_fields = ("name",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                partner_total=Count("partners", distinct=True),
                integration_total=Count("integrations", distinct=True),
            )
        )

    @admin.display(description=gettext_lazy("Partners"), ordering="partner_total")
    def partner_count(self, obj: Channel) -> int:
        return obj.partner_total

    @admin.display(description=gettext_lazy("Integrations"), ordering="integration_total")
    def integration_count(self, obj: Channel) -> int:
        return obj.integration_total


@admin.register(App)
class AppAdmin(ChangeFormContext, OrganizationScopedAdmin):
    """Apps; each opens its hub, where partners are connected."""

    # The name opens the hub (as in the justtrack guide); the hub links to the edit form.
    list_display = ("hub_link", "platform", "store_id", "integration_count", "created_at")
    list_display_links = None
    list_filter = ("platform",)
    search_fields = ("name", "store_id")
    date_hierarchy = "created_at"
    readonly_fields = ("masked_token", "created_at")
    fieldsets = (
        (None, {"fields": ("name", "platform", "store_id", "default_url", "masked_token", "created_at")}),
        (gettext_lazy("Inbound requests"), {"fields": ("signing_required", "allowed_ips")}),
    )

    class Media:
        css = PARTNERS_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(integration_total=Count("integrations"))

    @admin.display(description=gettext_lazy("App"), ordering="name")
    def hub_link(self, obj: App) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:partners_app_hub", args=[obj.pk]), obj.name)

    @admin.display(description=gettext_lazy("Partners connected"), ordering="integration_total")
    def integration_count(self, obj: App) -> int:
        return obj.integration_total

    @admin.display(description=gettext_lazy("Inbound token"))
    def masked_token(self, obj: App) -> str:
        return masked(obj.token)

    def save_model(self, request: HttpRequest, obj: App, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        inbound_secret_ensure(owner=obj)

    def change_form_context(self, request: HttpRequest, obj: App) -> dict[str, Any]:
        return inbound_context(obj, editor=can_edit(request.user))

    def get_urls(self) -> list[URLPattern]:
        wizard = ConnectPartnerWizard.as_view(admin_site=self.admin_site)
        custom = [
            *inbound_urls(self.admin_site, App),
            path("macro-preview/", self._view(admin_views.macro_preview), name="partners_app_macro_preview"),
            path("<int:app_id>/hub/", self._view(admin_views.app_hub), name="partners_app_hub"),
            path(
                "<int:app_id>/integrations/",
                self._view(admin_views.app_integrations),
                name="partners_app_integrations",
            ),
            path(
                "<int:app_id>/connect/", self._view(admin_views.partner_picker), name="partners_app_connect"
            ),
            path(
                "<int:app_id>/connect/start/",
                self._view(admin_views.connect_start),
                name="partners_app_connect_start",
            ),
            re_path(
                rf"^(?P<app_id>\d+)/connect/(?P<run_id>{RUN_ID_REGEX})/$",
                self.admin_site.admin_view(wizard),
                name="partners_app_connect_wizard",
            ),
        ]
        return custom + super().get_urls()

    def _view(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def bound(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return view(request, *args, model_admin=self, **kwargs)

        return self.admin_site.admin_view(bound)


@admin.register(Partner)
class PartnerAdmin(ChangeFormContext, MaskedURLsForViewers, OrganizationScopedAdmin):
    """Traffic suppliers, reusable across apps."""

    masked_url_fields = ("preset_postback_url", "publisher_postback_url")

    @admin.display(description=gettext_lazy("Preset postback URL"))
    def preset_postback_url_shown(self, obj: Partner) -> str:
        return mask_url(obj.preset_postback_url)

    @admin.display(description=gettext_lazy("Publisher postback URL"))
    def publisher_postback_url_shown(self, obj: Partner) -> str:
        return mask_url(obj.publisher_postback_url)

    list_display = ("name", "kind", "default_channel", "status", "app_count", "contact_email", "created_at")
    list_filter = ("kind", "status", ("default_channel", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("default_channel",)
    search_fields = ("name", "contact_name", "contact_email")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": ("name", "kind", "default_channel", "status", "created_at")}),
        (gettext_lazy("Contact"), {"fields": ("contact_name", "contact_email", "website")}),
        (
            gettext_lazy("Wizard presets (built-in partners)"),
            {"fields": ("preset_postback_url", "preset_parameters")},
        ),
        (gettext_lazy("Publisher"), {"fields": ("publisher_postback_url", "payout_currency")}),
    )
    change_form_template = "admin/partners/partner/change_form.html"

    class Media:
        css = PARTNERS_CSS
        js = PARTNERS_JS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(app_total=Count("integrations"))

    def get_urls(self) -> list[URLPattern]:
        signing = path(
            "<int:partner_id>/signing/publisher/",
            self.admin_site.admin_view(admin_views.publisher_signing),
            name="partners_partner_publisher_signing",
        )
        return [signing, *super().get_urls()]

    def change_form_context(self, request: HttpRequest, obj: Partner) -> dict[str, Any]:
        editor = can_edit(request.user)
        return {
            "can_edit": editor,
            "publisher_postback": {
                "test_url": reverse("admin:postbacks_test_publisher", args=[obj.pk]),
                "signing_url": reverse("admin:partners_partner_publisher_signing", args=[obj.pk]),
                "signed": bool(obj.publisher_postback_secret_encrypted),
                "secret": shown_secret(obj, editor=editor),
                "url": obj.publisher_postback_url if editor else mask_url(obj.publisher_postback_url),
            },
        }

    @admin.display(description=gettext_lazy("Apps"), ordering="app_total")
    def app_count(self, obj: Partner) -> int:
        return obj.app_total


class TrackingParameterInline(OrganizationScopedInline, admin.TabularInline):
    """The integration's tracking-URL parameters (required ones cannot be removed)."""

    model = TrackingParameter
    form = TrackingParameterAdminForm
    formset = TrackingParameterInlineFormSet
    extra = 0


class PostbackTemplateInline(
    MaskedURLsForViewers, OfferChildChoices, OrganizationScopedInline, admin.TabularInline
):
    """The integration's postbacks: the install one (no goal) and per-goal ones."""

    model = PostbackTemplate
    form = PostbackTemplateForm
    formset = PostbackTemplateInlineFormSet
    extra = 0
    verbose_name = gettext_lazy("postback")
    masked_url_fields = ("url",)

    @admin.display(description=gettext_lazy("URL"))
    def url_shown(self, obj: PostbackTemplate) -> str:
        return mask_url(obj.url)

    def get_formset(self, request: HttpRequest, obj: Integration | None = None, **kwargs: Any) -> Any:
        # A template's goal is one of this integration's app: the same goal name on every
        # other app's offers would only repeat in the list.
        formset = super().get_formset(request, obj, **kwargs)
        goal = formset.form.base_fields.get("goal")
        if goal is not None:
            goal.queryset = goal.queryset.filter(offer__app_id=obj.app_id if obj else None).order_by(
                "offer__name", "position", "code"
            )
            goal.label_from_instance = lambda g: f"{g.offer.name}: {g.name} ({g.code})"
            goal.empty_label = INSTALL_POSTBACK_LABEL
        return formset


class TrackingLinkInline(OrganizationScopedInline, admin.TabularInline):
    """The integration's links, read-only here; each opens its own page."""

    model = TrackingLink
    fields = ("code", "offer", "landing", "status")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False


class ScreeningRuleInline(OrganizationScopedInline, admin.TabularInline):
    """The integration's filters: each flags or rejects what it catches, with its reason code."""

    model = ScreeningRule
    fields = ("kind", "threshold", "window_seconds", "action", "reason_code", "countries", "is_active")
    extra = 0
    verbose_name = gettext_lazy("screening filter")


@admin.register(DatacenterNetwork)
class DatacenterNetworkAdmin(OrganizationScopedAdmin):
    """The organization's changes to the shipped data-centre list that the `datacenter` rule checks.

    The page lists the shipped networks and the effective list, so a manager sees what an
    addition or an exclusion does; saving one forgets the cached screening configurations.
    """

    list_display = ("change", "asn", "as_org", "note", "created_at")
    list_filter = ("change",)
    search_fields = ("as_org", "note", "=asn")
    fields = ("change", "asn", "as_org", "note")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        organization = organization_of(request.user)
        effective = datacenters.effective_entries(organization.pk) if organization is not None else []
        context = {
            **(extra_context or {}),
            "shipped_networks": datacenters.shipped(),
            "effective_networks": effective,
        }
        return super().changelist_view(request, extra_context=context)


def _list_field(label: Promise, help_text: Promise) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(
            attrs={"rows": 4, "cols": 40, "placeholder": gettext_lazy("one source per line")}
        ),
    )


class IntegrationAdminForm(forms.ModelForm):
    """The integration's settings with its source lists as paste-in text areas (one source per line)."""

    blacklist = _list_field(
        gettext_lazy("Source blacklist"), gettext_lazy("Sources (sub1) never imported. The blacklist wins.")
    )
    whitelist = _list_field(
        gettext_lazy("Source whitelist"),
        gettext_lazy("When any source is listed, only listed sources are imported. Empty: no restriction."),
    )

    class Meta:
        model = Integration
        fields = (
            "channel",
            "status",
            "ip_privacy",
            "inbound_mapping",
            "signing_required",
            "allowed_ips",
            "status_sync_url",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            entries = self.instance.source_entries.order_by("source").values_list("list", "source")
            for name, kind in (
                ("blacklist", SourceListEntry.List.BLACK),
                ("whitelist", SourceListEntry.List.WHITE),
            ):
                self.initial[name] = "\n".join(source for entry_list, source in entries if entry_list == kind)

    def save_source_lists(self) -> None:
        """Make both lists exactly what the text areas hold (through the screening service)."""
        for name, kind in (
            ("blacklist", SourceListEntry.List.BLACK),
            ("whitelist", SourceListEntry.List.WHITE),
        ):
            if name in self.changed_data:
                source_list_paste(
                    integration=self.instance,
                    list_kind=kind,
                    sources=parse_sources(self.cleaned_data[name]),
                    replace=True,
                )


@admin.register(Integration)
class IntegrationAdmin(ChangeFormContext, MaskedURLsForViewers, OrganizationScopedAdmin):
    """Partners connected to apps. New ones come from the wizard on the app's hub."""

    masked_url_fields = ("status_sync_url",)

    @admin.display(description=gettext_lazy("Status sync URL"))
    def status_sync_url_shown(self, obj: Integration) -> str:
        return mask_url(obj.status_sync_url)

    list_display = ("partner", "app", "channel", "status", "ip_privacy", "link_count", "created_at")
    list_filter = (
        "status",
        "ip_privacy",
        ("app", admin.RelatedOnlyFieldListFilter),
        ("channel", admin.RelatedOnlyFieldListFilter),
        "partner__kind",
    )
    list_select_related = ("partner", "app", "channel")
    search_fields = ("partner__name", "app__name")
    date_hierarchy = "created_at"
    readonly_fields = ("app", "partner", "masked_token", "created_by", "created_at")
    form = IntegrationAdminForm
    exclude = ("token",)
    inlines = (TrackingParameterInline, ScreeningRuleInline, PostbackTemplateInline, TrackingLinkInline)
    change_form_template = "admin/partners/integration/change_form.html"

    class Media:
        css = PARTNERS_CSS
        js = PARTNERS_JS

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Connecting goes through the wizard, which validates and creates links atomically.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(link_total=Count("links"))

    @admin.display(description=gettext_lazy("Links"), ordering="link_total")
    def link_count(self, obj: Integration) -> int:
        return obj.link_total

    @admin.display(description=gettext_lazy("Inbound token"))
    def masked_token(self, obj: Integration) -> str:
        return masked(obj.token)

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        inbound_secret_ensure(owner=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        form.save_source_lists()

    def change_form_context(self, request: HttpRequest, obj: Integration) -> dict[str, Any]:
        editor = can_edit(request.user)
        context = {
            **integration_page_context(obj, editor=editor),
            **inbound_context(obj, editor=editor),
            **outbound_context(obj, editor=editor),
        }
        install = context["install_postback"]
        install_url = (install.url if editor else mask_url(install.url)) if install else ""
        return {**context, "install_postback_url": install_url, **admin_views.paused_banner(request, obj)}

    def get_urls(self) -> list[URLPattern]:
        def resume(request: HttpRequest, integration_id: int) -> HttpResponse:
            return admin_views.integration_resume(request, integration_id, model_admin=self)

        view = self.admin_site.admin_view
        signing = [
            *inbound_urls(self.admin_site, Integration),
            path(
                "<int:integration_id>/resume/", view(require_POST(resume)), name="partners_integration_resume"
            ),
            path(
                "<int:integration_id>/signing/status-sync/",
                view(admin_views.status_sync_signing),
                name="partners_integration_status_sync_signing",
            ),
            path(
                "<int:integration_id>/signing/template/<int:template_id>/",
                view(admin_views.template_signing),
                name="partners_integration_template_signing",
            ),
        ]
        return signing + super().get_urls()


def shown_secret(owner: Any, *, editor: bool) -> str:
    """The plain secret for an editor's page ("" for everyone else, or when it cannot be read)."""
    if not editor:
        return ""
    try:
        return signing_secret_of(owner)
    except UndecryptableSecret:
        return ""


def inbound_urls(admin_site: admin.AdminSite, model: type[InboundOwner]) -> list[URLPattern]:
    """The buttons of an app's or an integration's inbound card: rotate the token, (re)generate the secret."""
    name = model._meta.model_name
    return [
        path(
            "<int:owner_id>/rotate-token/",
            admin_site.admin_view(partial(admin_views.token_rotation, model=model)),
            name=f"partners_{name}_rotate_token",
        ),
        path(
            "<int:owner_id>/inbound-signing/",
            admin_site.admin_view(partial(admin_views.inbound_signing, model=model)),
            name=f"partners_{name}_inbound_signing",
        ),
    ]


def inbound_context(owner: InboundOwner, *, editor: bool) -> dict[str, Any]:
    """The inbound card of an app or an integration: token (in full for editors only), the
    previous token while it still works, rotation, signing and the allow list."""
    name = owner._meta.model_name
    until = owner.previous_token_valid_until
    overlapping = bool(owner.previous_token) and until is not None and until > timezone.now()
    return {
        "inbound": {
            "noun": owner._meta.verbose_name,
            "editor": editor,
            "token": owner.token if editor else mask_secret(owner.token),
            "masked_token": mask_secret(owner.token),
            "token_id": f"pd-{name}-token-{owner.pk}",
            "previous_token": mask_secret(owner.previous_token) if overlapping else "",
            "previous_valid_until": until if overlapping else None,
            "rotate_url": reverse(f"admin:partners_{name}_rotate_token", args=[owner.pk]),
            "overlaps": [(key, label) for key, (label, _) in TOKEN_OVERLAPS.items()],
            "default_overlap": DEFAULT_TOKEN_OVERLAP,
            "signing_url": reverse(f"admin:partners_{name}_inbound_signing", args=[owner.pk]),
            "signing_required": owner.signing_required,
            "has_secret": bool(owner.inbound_secret_encrypted),
            "secret": owner.readable_inbound_secret() if editor else "",
            "secret_id": f"pd-{name}-inbound-secret-{owner.pk}",
            "allowed_ips": allow_list_lines(owner.allowed_ips),
            "reference_url": reverse("admin:leads_lead_postback_reference"),
        }
    }


def outbound_context(integration: Integration, *, editor: bool) -> dict[str, Any]:
    """Each outbound URL of the integration with its test endpoint and signing state (URLs and
    secrets in full for editors; analysts see URLs masked and no secret)."""
    templates = integration.postback_templates.select_related("goal").order_by("goal__code", "event", "pk")
    return {
        "can_edit": editor,
        "outbound_templates": [
            {
                "template": template,
                "url": template.url if editor else mask_url(template.url),
                "label": template.label,
                "url_id": f"pd-template-url-{template.pk}",
                "secret_id": f"pd-template-secret-{template.pk}",
                "test_url": reverse("admin:postbacks_test_template", args=[template.pk]),
                "signing_url": reverse(
                    "admin:partners_integration_template_signing", args=[integration.pk, template.pk]
                ),
                "signed": bool(template.signing_secret_encrypted),
                "secret": shown_secret(template, editor=editor),
            }
            for template in templates
        ],
        "status_sync": {
            "url": integration.status_sync_url if editor else mask_url(integration.status_sync_url),
            "test_url": reverse("admin:postbacks_test_status_sync", args=[integration.pk]),
            "signing_url": reverse("admin:partners_integration_status_sync_signing", args=[integration.pk]),
            "signed": bool(integration.status_sync_secret_encrypted),
            "secret": shown_secret(integration, editor=editor),
        },
    }


def integration_page_context(integration: Integration, *, editor: bool) -> dict[str, Any]:
    """The tracking links with their generated URLs, and the install postback. The API URLs are
    shown with their tokens masked, as the token field is; editors also get them in full, which
    the page reveals together with the token."""
    parameters = list(integration.parameters.all())
    in_click = [(p.name, p.placeholder) for p in parameters if p.in_click]
    in_impression = [(p.name, p.placeholder) for p in parameters if p.in_impression]
    links = integration.links.select_related("offer", "landing").order_by("offer__name")
    return {
        "tracking_links": [
            {
                "link": link,
                "click_url": click_url(link.code, in_click),
                "impression_url": impression_url(link.code, in_impression),
            }
            for link in links
        ],
        "install_postback": integration.postback_templates.filter(
            goal__isnull=True, event=PostbackTemplate.Event.CONVERSION
        ).first(),
        "api_urls": api_urls(integration, reveal=False),
        "api_urls_revealed": api_urls(integration) if editor else None,
        "connect_app_hub": reverse("admin:partners_app_hub", args=[integration.app_id]),
    }


TARGETING_FIELDS = ("allowed_countries", "blocked_countries", "device_types", "operating_systems")


class LandingInline(OrganizationScopedInline, admin.StackedInline):
    """An offer's landing pages and deeplinks, each with optional targeting of its own."""

    model = Landing
    extra = 0
    fieldsets = (
        (None, {"fields": ("name", "kind", "url")}),
        (
            gettext_lazy("Targeting of this landing (optional; narrows the offer's)"),
            {"fields": TARGETING_FIELDS},
        ),
    )


class CreativeInline(OrganizationScopedInline, admin.TabularInline):
    """An offer's creatives for publishers to download."""

    model = Creative
    extra = 0
    readonly_fields = ("created_at",)


class CapUseDisplay:
    """A cap's use in its current period, read-only next to its settings."""

    @admin.display(description=gettext_lazy("Use this period"))
    def use_now(self, obj: Cap) -> str:
        if obj.pk is None:
            return "—"
        return cap_use_text(obj, cap_uses([obj])[obj.pk])


class CapInline(CapUseDisplay, OfferChildChoices, OrganizationScopedInline, admin.TabularInline):
    """An offer's caps with each one's use this period; the counters themselves change only by claims."""

    model = Cap
    fields = ("partner", "goal", "metric", "period", "limit", "is_active", "use_now")
    readonly_fields = ("use_now",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("organization", "offer", "partner", "goal")


class GoalInline(OrganizationScopedInline, admin.TabularInline):
    """An offer's goals; aliases and partner payouts are on each goal's page."""

    model = Goal
    fields = ("code", "name", "payout_type", "payout", "revenue", "is_default", "position")
    extra = 0
    show_change_link = True


@admin.register(Offer)
class OfferAdmin(OrganizationScopedAdmin):
    """Offers (campaigns to publishers) with their landings, creatives and goals."""

    list_display = ("name", "app", "type", "shown_rate", "visibility", "status", "created_at")
    list_filter = ("type", "visibility", "status", ("app", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("app",)

    @admin.display(description=gettext_lazy("Rate"), ordering="rate")
    def shown_rate(self, offer: Offer) -> str:
        return format_money(offer.rate, offer.currency)

    search_fields = ("name", "app__name", "category")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
    inlines = (LandingInline, CreativeInline, GoalInline, CapInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "app",
                    "name",
                    ("type", "rate", "currency"),
                    "category",
                    "description",
                    ("visibility", "status"),
                    "attribution_window_days",
                    "created_at",
                )
            },
        ),
        (
            gettext_lazy("Targeting"),
            {
                "fields": TARGETING_FIELDS,
                "description": gettext_lazy(
                    "Clicks outside the targeting are recorded as redirected and sent "
                    "to the fallback below. Empty fields restrict nothing."
                ),
            },
        ),
        (
            gettext_lazy("Fallback"),
            {
                "fields": ("fallback_offer", "fallback_url"),
                "description": gettext_lazy(
                    "Where clicks outside the targeting (or while a cap is full) go: another offer "
                    "of the same app, a URL, or neither: a plain “offer not available” page."
                ),
            },
        ),
    )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Cap:  # a cap belongs to its offer's organization
            for inline_form in formset.forms:
                inline_form.instance.organization_id = form.instance.organization_id
        super().save_formset(request, form, formset, change)


@admin.register(Cap)
class CapAdmin(CapUseDisplay, OfferChildChoices, OrganizationScopedAdmin):
    """Every cap of the organization with its use this period (SPEC 4.5)."""

    list_display = (
        "__str__",
        "offer",
        "partner",
        "goal",
        "metric",
        "period",
        "limit",
        "is_active",
        "use_now",
    )
    list_filter = ("metric", "period", "is_active", ("offer", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("organization", "offer", "partner", "goal")
    search_fields = ("offer__name", "partner__name", "goal__code")
    fields = ("offer", "partner", "goal", "metric", "period", "limit", "is_active", "use_now")
    readonly_fields = ("use_now",)


class GoalAliasInline(OrganizationScopedInline, admin.TabularInline):
    """Other codes for the same goal (`reg` and `registration`)."""

    model = GoalAlias
    formset = GoalAliasInlineFormSet
    fields = ("code",)
    extra = 0


class GoalPartnerPayoutInline(OrganizationScopedInline, admin.TabularInline):
    """Partner-specific payouts overriding the goal's own."""

    model = GoalPartnerPayout
    extra = 0


@admin.register(Goal)
class GoalAdmin(OrganizationScopedAdmin):
    """Goals of all offers, with their aliases and per-partner payouts."""

    organization_field = "offer__organization"
    list_display = ("code", "name", "offer", "offer_app", "shown_payout", "shown_revenue", "is_default")
    list_filter = ("payout_type", "is_default", ("offer__app", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("offer", "offer__app")
    search_fields = ("code", "name", "offer__name", "aliases__code")
    inlines = (GoalAliasInline, GoalPartnerPayoutInline)

    @admin.display(description=gettext_lazy("App"), ordering="offer__app__name")
    def offer_app(self, obj: Goal) -> str:
        return obj.offer.app.name

    @admin.display(description=gettext_lazy("Payout"), ordering="payout")
    def shown_payout(self, goal: Goal) -> str:
        """The publisher's payout as the portal shows it: an amount, or a percent of revenue."""
        if goal.payout_type == PayoutType.PERCENT:
            return _("%(percent)s of revenue") % {"percent": format_percent(goal.payout)}
        return format_money(goal.payout, goal.offer.currency)

    @admin.display(description=gettext_lazy("Revenue"), ordering="revenue")
    def shown_revenue(self, goal: Goal) -> str:
        return format_money(goal.revenue, goal.offer.currency)


@admin.register(TrackingLink)
class TrackingLinkAdmin(OfferChildChoices, OrganizationScopedAdmin):
    """Flows: a partner × offer pair with its code."""

    form = TrackingLinkForm
    list_display = ("code", "partner", "offer", "landing", "status", "created_at")
    list_filter = (
        "status",
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("offer__app", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("partner", "offer", "landing")
    search_fields = ("=code", "partner__name", "offer__name")
    date_hierarchy = "created_at"
    readonly_fields = ("code", "partner", "created_at")


class SmartLinkEntryFormSet(forms.BaseInlineFormSet):
    """Entries choose among the smart link's partner's links only (the model checks it too)."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        partner_id = getattr(self.instance, "partner_id", None)
        if partner_id is not None and "link" in form.fields:
            form.fields["link"].queryset = form.fields["link"].queryset.filter(partner_id=partner_id)


class SmartLinkEntryInline(OrganizationScopedInline, admin.TabularInline):
    """A smart link's destinations: the partner's tracking links with priority and weight."""

    model = SmartLinkEntry
    formset = SmartLinkEntryFormSet
    fields = ("link", "priority", "weight")
    extra = 1

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "link":
            kwargs["queryset"] = TrackingLink.objects.filter(
                organization=organization_of(request.user)
            ).select_related("offer", "partner")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


SPLIT_DAYS = 30


@admin.register(SmartLink)
class SmartLinkAdmin(OrganizationScopedAdmin):
    """Smart links: one URL (`/s/<code>`) that sends each click to one of a partner's links."""

    list_display = ("name", "partner", "mode", "status", "entry_count", "created_at")
    list_filter = ("mode", "status", ("partner", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("partner",)
    search_fields = ("name", "=code", "partner__name")
    date_hierarchy = "created_at"
    readonly_fields = ("code", "url", "split", "created_at")
    fields = ("name", "partner", "mode", "status", "catch_all_url", "code", "url", "split", "created_at")
    inlines = (SmartLinkEntryInline,)

    class Media:
        css = PARTNERS_CSS
        js = PARTNERS_JS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(entries_total=Count("entries"))

    @admin.display(description=gettext_lazy("Entries"), ordering="entries_total")
    def entry_count(self, obj: SmartLink) -> int:
        return obj.entries_total  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("URL to hand out"))
    def url(self, obj: SmartLink) -> str:
        if obj.pk is None:
            return _("Shown once the smart link is saved.")
        return render_to_string(
            "admin/partners/partials/copy_url.html",
            {"label": _("Smart link"), "id": f"pd-smart-{obj.pk}", "url": smart_link_url(obj.code)},
        )

    @admin.display(
        description=ngettext_lazy(
            "Split (clicks, last %(days)d day)", "Split (clicks, last %(days)d days)", "days"
        )
        % {"days": SPLIT_DAYS}
    )
    def split(self, obj: SmartLink) -> str:
        if obj.pk is None:
            return "—"
        rows = smart_link_split(obj, days=SPLIT_DAYS)
        if not rows:
            return _("No clicks yet.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("Link"),
            _("Offer"),
            _("Clicks"),
            _("Share"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((row.label, row.offer, row.clicks, f"{row.share:.1%}") for row in rows),
            ),
        )
