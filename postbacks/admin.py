"""The postbacks admin: deliveries (with re-send) and CleverTap destinations."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import OrganizationScopedAdmin, ReadOnlyAdmin, can_edit
from config.masking import mask_secret
from partners.macros import text_errors
from postbacks import views
from postbacks.clevertap import clean_credential
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.services import (
    IN_DOUBT_EXPLANATION,
    UTM_TEMPLATE_FIELDS,
    CleverTapSettings,
    DeliveryRefused,
    clevertap_destination_save,
    delivery_resend,
)
from postbacks.testsend import TEST_DEVICE_ID


class DeliveryAttemptInline(admin.TabularInline):
    """Every attempt of the delivery, oldest first; nothing here can be changed."""

    model = DeliveryAttempt
    fields = (
        "number",
        "started_at",
        "outcome_shown",
        "status_code",
        "duration_ms",
        "error",
        "response_start",
        "url_masked",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    @admin.display(description=gettext_lazy("Outcome"))
    def outcome_shown(self, obj: DeliveryAttempt) -> str:
        if obj.outcome == DeliveryAttempt.Outcome.IN_DOUBT:
            return format_html(
                "<strong class='pd-in-doubt'>{}</strong><br><small>{}</small>",
                _("In doubt"),
                IN_DOUBT_EXPLANATION,
            )
        return obj.get_outcome_display()


class InDoubtFilter(admin.SimpleListFilter):
    """Deliveries with an attempt whose worker stopped mid-call (the receiver may have it twice)."""

    title = gettext_lazy("attempt in doubt")
    parameter_name = "in_doubt"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(in_doubt_attempts__gt=0)
        if self.value() == "no":
            return queryset.filter(in_doubt_attempts=0)
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Outbound calls and every attempt of them (URLs masked); editors re-send them."""

    # The outcome comes first, so that state, attempts and answer stay in view on a laptop
    # beside the admin's two sidebars; long URLs wrap (partners.css).
    list_display = (
        "id",
        "created_at",
        "state",
        "attempts_shown",
        "last_status_code",
        "next_attempt_at",
        "kind",
        "event",
        "partner",
        "lead",
        "short_url",
    )
    list_filter = (
        "kind",
        "state",
        InDoubtFilter,
        "created_at",
        ("partner", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=id", "=lead__id", "=lead__exto", "event", "last_error", "partner__name")
    list_select_related = ("lead", "partner")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = (
        "kind",
        "event",
        "state",
        "masked_url",
        "lead",
        "lead_event",
        "integration",
        "partner",
        "app",
        "template",
        "destination",
        "idempotency_key",
        "attempt_count",
        "next_attempt_at",
        "claimed_until",
        "claimed_by",
        "last_status_code",
        "last_error",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (DeliveryAttemptInline,)
    actions = ("resend",)
    change_form_template = "admin/postbacks/delivery/change_form.html"

    class Media:
        css = {"all": ("partners/partners.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        in_doubt = (
            DeliveryAttempt.objects.filter(delivery=OuterRef("pk"), outcome=DeliveryAttempt.Outcome.IN_DOUBT)
            .order_by()
            .values("delivery")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return super().get_queryset(request).annotate(in_doubt_attempts=Coalesce(Subquery(in_doubt), 0))

    @admin.display(description=gettext_lazy("Attempts"), ordering="attempt_count")
    def attempts_shown(self, obj: Delivery) -> str:
        in_doubt = getattr(obj, "in_doubt_attempts", 0)
        if not in_doubt:
            return str(obj.attempt_count)
        return format_html(
            "{} <strong class='pd-in-doubt' title='{}'>{}</strong>",
            obj.attempt_count,
            IN_DOUBT_EXPLANATION,
            _("(%(count)s in doubt)") % {"count": in_doubt},
        )

    @admin.display(description=gettext_lazy("Idempotency key"))
    def idempotency_key(self, obj: Delivery) -> str:
        return format_html(
            "<code>{}</code><br><small>{}</small>",
            obj.idempotency_key,
            _(
                "Every call of this delivery carries it as the Idempotency-Key "
                "and webhook-id headers, so the receiver can drop a repeat."
            ),
        )

    @admin.display(description=gettext_lazy("URL"))
    def short_url(self, obj: Delivery) -> str:
        url = obj.url_masked
        return url if len(url) <= 80 else f"{url[:77]}…"

    @admin.display(description=gettext_lazy("URL (secrets masked)"))
    def masked_url(self, obj: Delivery) -> str:
        return format_html("<code class='pd-break'>{}</code>", obj.url_masked)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any):
        context["can_resend"] = can_edit(request.user)
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        resend = self.admin_site.admin_view(require_POST(self.resend_one))
        tests = [
            ("wizard/<int:app_id>/", views.wizard_test, "wizard"),
            ("template/<int:template_id>/", views.template_test, "template"),
            ("status-sync/<int:integration_id>/", views.status_sync_test, "status_sync"),
            ("clevertap/<int:destination_id>/", views.clevertap_test, "clevertap"),
            ("publisher/<int:partner_id>/", views.publisher_test, "publisher"),
        ]
        return [
            path("<int:delivery_id>/resend/", resend, name="postbacks_delivery_resend"),
            # "Send a test" of every outbound URL: POST, answered in JSON for the page's script.
            *(
                path(f"test/{route}", self.admin_site.admin_view(view), name=f"postbacks_test_{name}")
                for route, view, name in tests
            ),
            *super().get_urls(),
        ]

    def resend_one(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        """The change page's Re-send button: one attempt now, then back to the page."""
        if not can_edit(request.user):
            raise PermissionDenied(_("Only admins and managers can re-send deliveries."))
        delivery = get_object_or_404(self.get_queryset(request), pk=delivery_id)
        self._resend(request, delivery)
        return HttpResponseRedirect(reverse("admin:postbacks_delivery_change", args=[delivery.pk]))

    @admin.action(description=gettext_lazy("Re-send selected deliveries"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet) -> None:
        for delivery in queryset:
            self._resend(request, delivery)

    def _resend(self, request: HttpRequest, delivery: Delivery) -> None:
        try:
            attempt = delivery_resend(delivery=delivery, actor=request.user)
        except DeliveryRefused as exc:
            self.message_user(
                request, _("#%(id)d: %(refusal)s") % {"id": delivery.pk, "refusal": exc}, messages.WARNING
            )
            return
        answer = (
            _("answered %(status)s") % {"status": attempt.status_code}
            if attempt.status_code
            else attempt.error
        )
        level = messages.SUCCESS if attempt.outcome == DeliveryAttempt.Outcome.DONE else messages.ERROR
        self.message_user(
            request,
            _("#%(id)s re-sent (attempt %(number)s): %(answer)s")
            % {"id": delivery.pk, "number": attempt.number, "answer": answer},
            level,
        )


SETTINGS_FIELDS = tuple(field.name for field in fields(CleverTapSettings))
# The admin shows a field's help text as HTML (its fieldset template marks it safe).
UTM_HINT = gettext_lazy(
    "Text with our macros, filled in per lead, e.g. <code>{partner_name}</code>, <code>{channel}</code>, "
    '<code>{campaign_name}</code>, <code>{sub1}</code> (<a href="/admin/macros/" target="_blank" '
    'rel="noopener">all macros</a>). Installs need at least one of the three values not empty.'
)


def _utm_template(value: str) -> str:
    """A utm template as typed, refused (with the nearest macro names) when a macro is unknown."""
    errors = text_errors(value)
    if errors:
        raise forms.ValidationError(errors)
    return value.strip()


class CleverTapDestinationForm(forms.ModelForm):
    """The CleverTap settings of an app; the passcode is typed, never shown back."""

    passcode = forms.CharField(
        label=gettext_lazy("Project passcode"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Stored encrypted and never shown again. Leave empty to keep the current passcode."
        ),
    )

    class Meta:
        model = CleverTapDestination
        fields = [
            "app",
            "account_id",
            "account_token",
            "passcode",
            "region",
            "partner_name",
            "send_inorganic_installs",
            "send_organic_installs",
            "send_custom_events",
            "utm_source_template",
            "utm_medium_template",
            "utm_campaign_template",
            "is_active",
        ]
        help_texts = dict.fromkeys(UTM_TEMPLATE_FIELDS, UTM_HINT)
        labels = {
            "utm_source_template": "utm_source",
            "utm_medium_template": "utm_medium",
            "utm_campaign_template": "utm_campaign",
        }

    def clean_utm_source_template(self) -> str:
        return _utm_template(self.cleaned_data["utm_source_template"])

    def clean_utm_medium_template(self) -> str:
        return _utm_template(self.cleaned_data["utm_medium_template"])

    def clean_utm_campaign_template(self) -> str:
        return _utm_template(self.cleaned_data["utm_campaign_template"])

    def clean_account_id(self) -> str:
        return clean_credential(self.cleaned_data["account_id"], _("Project ID"))

    def clean_account_token(self) -> str:
        return clean_credential(self.cleaned_data["account_token"], _("Project Token"))

    def clean_passcode(self) -> str:
        passcode = self.cleaned_data.get("passcode", "")
        if not passcode and self.instance.passcode_encrypted:
            return ""
        return clean_credential(passcode, _("Project Passcode"))

    def settings(self) -> CleverTapSettings:
        """What the manager set, for the service; an empty passcode keeps the stored one."""
        named = {name: self.cleaned_data[name] for name in SETTINGS_FIELDS if name != "passcode"}
        return CleverTapSettings(**named, passcode=self.cleaned_data["passcode"] or None)


@admin.register(CleverTapDestination)
class CleverTapDestinationAdmin(OrganizationScopedAdmin):
    """Each app's CleverTap project: credentials (passcode encrypted, never shown), region, events."""

    form = CleverTapDestinationForm
    list_display = ("app", "region", "partner_name", "account_id", "events", "is_active", "updated_at")
    list_filter = ("region", "is_active")
    list_select_related = ("app",)
    search_fields = ("app__name", "account_id", "partner_name")
    readonly_fields = ("passcode_status", "masked_account_token", "created_at", "updated_at")
    change_form_template = "admin/postbacks/clevertapdestination/change_form.html"

    class Media:
        css = {"all": ("partners/partners.css",)}
        js = ("partners/partners.js",)

    fieldsets = (
        (None, {"fields": ("app", "is_active")}),
        (
            gettext_lazy("CleverTap project (Settings > Project on the CleverTap dashboard)"),
            {"fields": ("account_id", "account_token", "passcode", "passcode_status", "region")},
        ),
        (
            gettext_lazy("Events"),
            {
                "fields": (
                    "partner_name",
                    "send_inorganic_installs",
                    "send_organic_installs",
                    "send_custom_events",
                )
            },
        ),
        (
            gettext_lazy("utm values sent with each event"),
            {"fields": UTM_TEMPLATE_FIELDS},
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any):
        obj = kwargs.get("obj")
        if obj is not None:
            context.update(
                can_test=can_edit(request.user),
                test_url=reverse("admin:postbacks_test_clevertap", args=[obj.pk]),
                test_device_id=TEST_DEVICE_ID,
            )
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description=gettext_lazy("Stored passcode"))
    def passcode_status(self, obj: CleverTapDestination) -> str:
        return _("•••••••• (set, encrypted)") if obj.passcode_encrypted else "—"

    @admin.display(description=gettext_lazy("Project token"))
    def masked_account_token(self, obj: CleverTapDestination) -> str:
        return mask_secret(obj.account_token)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Read-only viewers (analysts) see whether a passcode is set, never the field itself.

        A read-only admin field is looked up on the destination, and `passcode` there is the
        decrypted passcode; the project token is shown as its first characters.
        """
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        shown = {"passcode": (), "account_token": ("masked_account_token",)}
        return [
            (
                name,
                {
                    **options,
                    "fields": tuple(f for field in options["fields"] for f in shown.get(field, (field,))),
                },
            )
            for name, options in fieldsets
        ]

    @admin.display(description=gettext_lazy("Events"))
    def events(self, obj: CleverTapDestination) -> str:
        names = [
            name
            for name, on in (
                (_("inorganic installs"), obj.send_inorganic_installs),
                (_("organic installs"), obj.send_organic_installs),
                (_("custom events"), obj.send_custom_events),
            )
            if on
        ]
        return ", ".join(names) or _("none")

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> CleverTapDestination:
        return clevertap_destination_save(
            app=form.cleaned_data.get("app") or form.instance.app,
            values=form.settings(),
            destination=form.instance if change else None,
        )

    def save_model(self, request: HttpRequest, obj: CleverTapDestination, form: Any, change: bool) -> None:
        # save_form saved it already, through the service that encrypts the passcode.
        return

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Nothing related: no many-to-many fields, no inlines.
        return
