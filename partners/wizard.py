"""The partner wizard: connect a new custom partner, or an existing one, to an app.

Four named steps kept in the session; nothing is written before the last one, whose
`done()` calls `integration_connect` (one transaction). Each run of the wizard has its
own id in the URL and its own session key, so two tabs never mix their steps.

A run is a draft that survives reloads and a closed tab: every POST keeps what was typed
and answers with a redirect (a reload is a plain GET that shows the stored step, never a
resubmission), a GET never resets the run, and the session remembers each app's latest
run so that "Connect" on the same partner resumes it. "Start over" empties the run.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cached_property
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from formtools.wizard.forms import ManagementForm
from formtools.wizard.views import SessionWizardView

from accounts.permissions import require_editor
from audit.models import Channel
from audit.tracking import set_channel as set_audit_channel
from partners.forms import (
    InstallPostbackForm,
    PartnerDetailsForm,
    ReviewForm,
    TrackingParameterFormSet,
    placeholder_warning,
)
from partners.macros import preview
from partners.models import App, Partner, PostbackTemplate, Status
from partners.services import ParameterRow, integration_connect
from partners.tracking import DEFAULT_PARAMETER_ROWS, REQUIRED_TRACKING_PARAMS, TRACKING_PARAM_NAMES
from partners.tracking import click_url as build_click_url
from partners.tracking import impression_url as build_impression_url

STEP_TITLES = OrderedDict(
    [
        ("details", gettext_lazy("Partner details")),
        ("postback", gettext_lazy("Install postback")),
        ("tracking", gettext_lazy("Tracking URL")),
        ("review", gettext_lazy("Review and connect")),
    ]
)
# Links get their codes on Connect; until then the URLs show where the code goes.
SAMPLE_CODE = "<code>"
RUN_ID_REGEX = r"[0-9a-f]{32}"

# The session key of each app's latest run: {app id: {"run": run id, "partner": partner id}}.
DRAFTS_SESSION_KEY = "partners_connect_drafts"

# Which step a field of the connect service's ValidationError belongs to.
_ERROR_STEP = {"partner_name": "details", "partner": "details", "postback_url": "postback"}


def new_run_id() -> str:
    return uuid4().hex


def _storage_key(run_id: str) -> str:
    # formtools' SessionStorage keeps a run under "wizard_" + the wizard's prefix.
    return f"wizard_connect_{run_id}"


def connect_draft(request: HttpRequest, app: App, partner_id: int | None = None) -> dict[str, Any] | None:
    """The app's run in progress in this session, if it is for `partner_id` (None: a new custom partner)."""
    draft = request.session.get(DRAFTS_SESSION_KEY, {}).get(str(app.pk))
    if not draft or draft["partner"] != partner_id:
        return None
    stored = request.session.get(_storage_key(draft["run"]))
    if not stored or not stored.get("step_data"):
        return None
    step = stored.get("step") or next(iter(STEP_TITLES))
    details = stored["step_data"].get("details", {})
    return {
        "url": reverse("admin:partners_app_connect_wizard", args=[app.pk, draft["run"]]),
        "step_number": list(STEP_TITLES).index(step) + 1,
        "step_title": STEP_TITLES[step],
        "partner_name": (details.get("details-partner_name") or [""])[0],
    }


def latest_connect_draft(request: HttpRequest, app: App) -> dict[str, Any] | None:
    """The app's latest run in progress in this session, whatever its partner."""
    draft = request.session.get(DRAFTS_SESSION_KEY, {}).get(str(app.pk))
    return connect_draft(request, app, draft["partner"]) if draft else None


def _int_or_404(value: str) -> int:
    if not value.isdigit():
        raise Http404(_("No such partner."))
    return int(value)


def tracking_urls(rows: list[ParameterRow]) -> dict[str, str]:
    """The click and impression URLs of a parameter table, with the sample code."""
    return {
        "click": build_click_url(SAMPLE_CODE, [(r["name"], r["placeholder"]) for r in rows if r["in_click"]]),
        "impression": build_impression_url(
            SAMPLE_CODE, [(r["name"], r["placeholder"]) for r in rows if r["in_impression"]]
        ),
    }


def with_required_rows(rows: list[dict]) -> list[dict]:
    """Known parameters only, with every required one present (first, as in a new table)."""
    known = [row for row in rows if row.get("name") in TRACKING_PARAM_NAMES]
    names = {row["name"] for row in known}
    defaults = {row["name"]: row for row in DEFAULT_PARAMETER_ROWS}
    missing = [dict(defaults[p.name]) for p in REQUIRED_TRACKING_PARAMS if p.name not in names]
    return missing + known


class ConnectPartnerWizard(SessionWizardView):
    """The four steps of SPEC 3.1, run inside the admin for one app."""

    form_list = [
        ("details", PartnerDetailsForm),
        ("postback", InstallPostbackForm),
        ("tracking", TrackingParameterFormSet),
        ("review", ReviewForm),
    ]
    template_name = "admin/partners/app/connect_wizard.html"
    admin_site: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.organization = require_editor(request)
        self.app = get_object_or_404(App, pk=kwargs["app_id"], organization=self.organization)
        self.run_id = kwargs["run_id"]
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        # The run id makes the session key (and the management field) unique per run.
        return f"connect_{self.run_id}"

    @cached_property
    def partner(self) -> Partner | None:
        partner_id = self.storage.extra_data.get("partner_id")
        if not partner_id:
            return None
        return get_object_or_404(Partner, pk=partner_id, organization=self.organization)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # formtools resets the run on every GET; here a GET shows where the run is, so a
        # reload or a reopened tab loses nothing. Only a run's first GET starts it.
        if "partner_id" not in self.storage.extra_data:
            refused = self._start_run()
            if refused is not None:
                return refused
        return self.render(self.get_form(data=self.storage.current_step_data))

    def _start_run(self) -> HttpResponse | None:
        partner = None
        if self.request.GET.get("partner"):
            partner = get_object_or_404(
                Partner, pk=_int_or_404(self.request.GET["partner"]), organization=self.organization
            )
            if partner.integrations.filter(app=self.app).exists():
                messages.error(
                    self.request,
                    _("%(partner)s is already connected to %(app)s.")
                    % {"partner": partner.name, "app": self.app.name},
                )
                return HttpResponseRedirect(reverse("admin:partners_app_integrations", args=[self.app.pk]))
        self._reset_run(partner.pk if partner else None)
        return None

    def _reset_run(self, partner_id: int | None) -> None:
        self.storage.reset()
        self.storage.current_step = self.steps.first
        self.storage.extra_data = {"partner_id": partner_id}

    def _show_current_step(self) -> HttpResponse:
        return HttpResponseRedirect(self.request.path)

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        management = ManagementForm(self.request.POST, prefix=self.prefix)
        if not management.is_valid() or management.cleaned_data["current_step"] not in self.get_form_list():
            raise SuspiciousOperation("The wizard's step field is missing or was tampered with.")
        if "partner_id" not in self.storage.extra_data:
            # A run this session does not know (it expired, or was finished): begin it afresh.
            return self._show_current_step()
        if "wizard_start_over" in self.request.POST:
            self._reset_run(self.storage.extra_data["partner_id"])
            messages.info(self.request, _("Started over: everything typed in this run was cleared."))
            return self._show_current_step()
        step = management.cleaned_data["current_step"]
        # What was typed is kept, valid or not: Back, a reload and a failed Next show it
        # again, and the last step revalidates every step before anything is saved.
        self.storage.current_step = step
        self.storage.set_step_data(step, self.request.POST)
        self._remember_draft()
        goto = self.request.POST.get("wizard_goto_step")
        if goto in self.get_form_list():
            self.storage.current_step = goto
            return self._show_current_step()
        form = self.get_form(data=self.request.POST, files=self.request.FILES)
        if not form.is_valid():
            return self._show_current_step()
        if step == self.steps.last:
            return self.render_done(form, **kwargs)
        self.storage.current_step = self.steps.next
        return self._show_current_step()

    def _remember_draft(self) -> None:
        drafts = self.request.session.get(DRAFTS_SESSION_KEY, {})
        drafts[str(self.app.pk)] = {"run": self.run_id, "partner": self.storage.extra_data["partner_id"]}
        self.request.session[DRAFTS_SESSION_KEY] = drafts

    def _forget_draft(self) -> None:
        drafts = self.request.session.get(DRAFTS_SESSION_KEY, {})
        if drafts.get(str(self.app.pk), {}).get("run") == self.run_id:
            del drafts[str(self.app.pk)]
            self.request.session[DRAFTS_SESSION_KEY] = drafts

    def get_form_kwargs(self, step: str | None = None) -> dict[str, Any]:
        if step == "details":
            return {"organization": self.organization, "partner": self.partner}
        return {}

    def get_form_initial(self, step: str) -> Any:
        if step == "details":
            return {"channel": self.partner.default_channel_id} if self.partner else {}
        if step == "postback":
            return {"postback_url": self._starting_point[0]}
        if step == "tracking":
            return self._starting_point[1]
        return {}

    @cached_property
    def _starting_point(self) -> tuple[str, list[dict]]:
        """Where the postback and parameter steps start: a preset, the partner's last setup, or ours."""
        partner = self.partner
        if partner is None:
            return "", [dict(row) for row in DEFAULT_PARAMETER_ROWS]
        if partner.kind == Partner.Kind.BUILTIN:
            return partner.preset_postback_url, with_required_rows(list(partner.preset_parameters or []))
        latest = partner.integrations.order_by("-created_at").first()
        if latest is None:
            return "", [dict(row) for row in DEFAULT_PARAMETER_ROWS]
        install = latest.postback_templates.filter(
            goal__isnull=True, event=PostbackTemplate.Event.CONVERSION
        ).first()
        rows = list(latest.parameters.values("name", "placeholder", "in_click", "in_impression"))
        return (install.url if install else ""), with_required_rows(rows)

    def render_done(self, form: Any, **kwargs: Any) -> HttpResponse:
        # formtools' own version, except that a refused connection keeps the run's data
        # and is shown on the review page instead of resetting the wizard.
        final_forms = OrderedDict()
        for step in self.get_form_list():
            step_form = self.get_form(step=step, data=self.storage.get_step_data(step))
            if not step_form.is_valid():
                return self.render_revalidation_failure(step, step_form, **kwargs)
            final_forms[step] = step_form
        try:
            response = self.done(list(final_forms.values()), form_dict=final_forms, **kwargs)
        except ValidationError as error:
            return self.render(form, connect_errors=self._errors_by_step(error))
        except IntegrityError:
            refused = {
                "general": [_("Someone made the same connection or partner a moment ago: check the list.")]
            }
            return self.render(form, connect_errors=refused)
        self.storage.reset()
        self._forget_draft()
        return response

    def render_revalidation_failure(self, failed_step: str, form: Any, **kwargs: Any) -> HttpResponse:
        self.storage.current_step = failed_step
        return self._show_current_step()

    def done(self, form_list: Any, form_dict: dict[str, Any], **kwargs: Any) -> HttpResponse:
        details = form_dict["details"].cleaned_data
        set_audit_channel(Channel.WIZARD)
        integration = integration_connect(
            organization=self.organization,
            app=self.app,
            partner=self.partner,
            partner_name=details["partner_name"],
            channel=details["channel"],
            new_channel_name=details["new_channel"],
            postback_url=form_dict["postback"].cleaned_data["postback_url"],
            parameters=form_dict["tracking"].rows(),
            actor=self.request.user,
        )
        messages.success(
            self.request,
            _(
                "%(partner)s is connected to %(app)s. Next: copy the tracking "
                "links below to the partner, then send a test postback."
            )
            % {"partner": integration.partner.name, "app": self.app.name},
        )
        return HttpResponseRedirect(reverse("admin:partners_integration_change", args=[integration.pk]))

    @staticmethod
    def _errors_by_step(error: ValidationError) -> dict[str, list[str]]:
        by_step: dict[str, list[str]] = {}
        for field, field_errors in error.message_dict.items():
            step = _ERROR_STEP.get(field, "tracking" if field == "parameters" else "general")
            by_step.setdefault(step, []).extend(field_errors)
        return by_step

    def get_context_data(self, form: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        current = self.steps.current
        context.update(
            self.admin_site.each_context(self.request),
            opts=App._meta,
            app=self.app,
            partner=self.partner,
            title=_("Connect a partner to %(app)s") % {"app": self.app.name},
            step_title=STEP_TITLES[current],
            step_list=[
                {"name": name, "title": title, "number": index + 1, "current": name == current}
                for index, (name, title) in enumerate(STEP_TITLES.items())
            ],
            public_base_url=settings.PUBLIC_BASE_URL,
            sample_code=SAMPLE_CODE,
            has_progress=bool(self.storage.data[self.storage.step_data_key]),
        )
        context.update(getattr(self, f"_context_{current}")(form))
        return context

    def _context_details(self, form: PartnerDetailsForm) -> dict[str, Any]:
        return {}

    def _context_postback(self, form: InstallPostbackForm) -> dict[str, Any]:
        url = (form["postback_url"].value() or "").strip()
        return {"postback_preview": preview(url) if url else "", "postback_warnings": form.warnings}

    def _context_tracking(self, formset: Any) -> dict[str, Any]:
        rows = []
        for row_form in formset.forms:
            deleted = formset.can_delete and row_form["DELETE"].value()
            name = row_form["name"].value()
            if name and not deleted:
                rows.append(
                    ParameterRow(
                        name=name,
                        placeholder=row_form["placeholder"].value() or "",
                        in_click=bool(row_form["in_click"].value()),
                        in_impression=bool(row_form["in_impression"].value()),
                    )
                )
        return {"urls": tracking_urls(rows)}

    def _context_review(self, form: ReviewForm) -> dict[str, Any]:
        details = self.get_cleaned_data_for_step("details") or {}
        postback_url = (self.get_cleaned_data_for_step("postback") or {}).get("postback_url", "")
        tracking = self.get_form("tracking", data=self.storage.get_step_data("tracking"))
        rows = tracking.rows() if tracking.is_valid() else []
        postback_form = InstallPostbackForm(data={"postback_url": postback_url})
        return {
            "details": details,
            "postback_url": postback_url,
            "postback_preview": preview(postback_url) if postback_url else "",
            "postback_warnings": postback_form.warnings,
            "rows": [{**row, "warning": placeholder_warning(row["placeholder"])} for row in rows],
            "urls": tracking_urls(rows),
            "offers": list(self.app.offers.filter(status=Status.ACTIVE).values_list("name", flat=True)),
        }
