"""The publisher portal's pages. Each view works for `self.partner`, the logged-in publisher's partner."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView
from django.views.i18n import set_language

from accounts.models import STAFF_ROLES
from accounts.permissions import membership_of
from accounts.services import membership_language_set
from accounts.twofactor import second_factor_status
from config.crypto import UndecryptableSecret
from config.money import XLSX_MONEY_FORMAT, in_minor_units, money_chart_options, number_symbols
from config.replica import read_reports
from partners.macros import preview
from partners.services import signing_secret_of, signing_secret_set
from partners.tracking import click_url
from portal import exports as payout_exports
from portal import selectors, services
from portal.charts import line_chart
from portal.filters import ConversionFilter, PeriodForm, ReportForm
from portal.forms import (
    AccessRequestForm,
    PaymentMethodForm,
    PayoutRequestForm,
    PortalLoginForm,
    PostbackForm,
    ProfileForm,
    SignupForm,
)
from portal.models import PublisherSignup
from postbacks import testsend
from postbacks.outbound import new_signing_secret
from postbacks.pausing import ResumeRefused, destination_resume, publisher_destination, resumed_message
from postbacks.services import DeliveryRefused
from postbacks.testsend import last_attempt
from privacy.exports import publisher_data_zip
from reports import exports
from reports.selectors import (
    GROUPINGS,
    ReportRow,
    earnings_by_partner,
    report_rows,
    report_totals,
    rollups_as_of,
)

TABS = (
    ("dashboard", gettext_lazy("Dashboard")),
    ("campaigns", gettext_lazy("Campaigns")),
    ("report", gettext_lazy("Report")),
    ("payments", gettext_lazy("Payments")),
    ("conversions", gettext_lazy("Conversion logs")),
    ("postback", gettext_lazy("Postback")),
)
LOG_PAGE_SIZE = 50


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = PortalLoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        membership = membership_of(self.request.user)
        if membership is not None and membership.role in STAFF_ROLES:
            return "/admin/"
        return reverse("portal:dashboard")


class PublisherMixin:
    """Lets in approved publishers only: anonymous users log in, staff go to the admin."""

    tab = ""
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = membership_of(request.user)
        if membership is None:
            if request.user.is_authenticated:
                raise Http404(_("No publisher account."))
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        if membership.role in STAFF_ROLES:
            return redirect("/admin/")
        signup = selectors.signup_of(membership.partner_id)
        if signup is not None and signup.status != PublisherSignup.Status.APPROVED:
            logout(request)
            return redirect("portal:login")
        self.membership = membership
        self.partner = membership.partner
        self.organization = membership.organization
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(
            tabs=TABS,
            tab=self.tab,
            partner=self.partner,
            organization=self.organization,
            balance=selectors.balance_of(self.partner, self.organization),
        )
        return context


class PublisherPage(PublisherMixin, TemplateView):
    pass


def _period_form(view: PublisherMixin, form_class: type[PeriodForm] = PeriodForm) -> PeriodForm:
    return form_class(view.request.GET, offers=selectors.offers_visible(view.partner))


class DashboardView(PublisherPage):
    template_name = "portal/dashboard.html"
    tab = "dashboard"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = _period_form(self)
        (start, end), offer_id = form.range, form.offer_id
        scope = {"partner_id": self.partner.pk, "start": start, "end": end, "offer_id": offer_id}

        def read(using: str) -> tuple[list, list, Any, Any]:
            return (
                report_rows(grouping="date", using=using, **scope),
                report_rows(grouping="campaign", using=using, **scope),
                report_totals(using=using, **scope),
                rollups_as_of(using=using),
            )

        days, campaigns, totals, as_of = read_reports(read)
        campaigns = sorted(campaigns, key=lambda r: -r.payout_approved)
        chart = line_chart(
            [
                {"name": _("Clicks"), "data": {str(r.key): r.clicks for r in days}},
                {"name": _("Conversions"), "data": {str(r.key): r.leads_total for r in days}},
            ],
            height="280px",
            thousands=number_symbols()["group"],
        )
        earnings = line_chart(
            [{"name": _("Earnings"), "data": {str(r.key): str(r.payout_approved) for r in days}}],
            height="200px",
            colors=["#16a34a"],
            **money_chart_options(self.organization.currency),
        )
        return super().get_context_data(
            form=form,
            start=start,
            end=end,
            totals=totals,
            as_of=as_of,
            chart=chart,
            earnings_chart=earnings,
            top=campaigns[:5],
            **kwargs,
        )


class CampaignListView(PublisherPage):
    template_name = "portal/campaigns.html"
    tab = "campaigns"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        offers = selectors.with_rates(selectors.offers_visible(self.partner), self.partner)
        return super().get_context_data(offers=offers, **kwargs)


class CampaignDetailView(PublisherPage):
    template_name = "portal/campaign.html"
    tab = "campaigns"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        offer = selectors.with_rates([selectors.offer_of(self.partner, self.kwargs["pk"])], self.partner)[0]
        links = [(link, _publisher_click_url(link)) for link in offer.own_links]
        return super().get_context_data(
            offer=offer,
            links=links,
            caps=selectors.caps_left(self.partner, offer),
            request_form=AccessRequestForm(),
            **kwargs,
        )


def _publisher_click_url(link: Any) -> str:
    """The link's click URL with `ref_id={replace_me}`, where the publisher puts its own click-id macro."""
    return click_url(link.code, [("ref_id", "{replace_me}")])


@method_decorator(require_POST, name="dispatch")
class CampaignRequestView(PublisherMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        offer = selectors.offer_of(self.partner, pk)
        if offer.has_link:
            messages.info(request, _("You already run this campaign: your tracking links are below."))
        else:
            form = AccessRequestForm(request.POST)
            message = form.cleaned_data["message"] if form.is_valid() else ""
            services.access_request_create(partner=self.partner, offer=offer, message=message)
            messages.success(request, _("Access requested: a manager will review it."))
        return redirect("portal:campaign", pk=offer.pk)


class CreativeDownloadView(PublisherMixin, View):
    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        creative = selectors.creative_of(self.partner, pk)
        try:
            handle = creative.file.open("rb")
        except FileNotFoundError as missing:
            raise Http404(_("The file of this creative is missing.")) from missing
        return FileResponse(handle, as_attachment=True, filename=creative.file.name.rsplit("/", 1)[-1])


class ReportView(PublisherPage):
    template_name = "portal/report.html"
    tab = "report"

    def report(self, *, with_totals: bool = False) -> tuple[ReportForm, list, ReportRow | None, Any]:
        """The form, the rows and, for the page, the totals and "as of", all from one database."""
        form = _period_form(self, ReportForm)
        start, end = form.range
        scope = {"partner_id": self.partner.pk, "start": start, "end": end, "offer_id": form.offer_id}

        def read(using: str) -> tuple[list, ReportRow | None, Any]:
            rows = report_rows(grouping=form.grouping, using=using, **scope)
            if not with_totals:
                return rows, None, None
            return rows, report_totals(using=using, **scope), rollups_as_of(using=using)

        rows, totals, as_of = read_reports(read)
        return form, rows, totals, as_of

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form, rows, totals, as_of = self.report(with_totals=True)
        start, end = form.range
        chart = line_chart(
            [
                {"name": _("Clicks"), "data": [[r.label, r.clicks] for r in rows]},
                {"name": _("Conversions"), "data": [[r.label, r.leads_total] for r in rows]},
            ],
            height="260px",
            discrete=form.grouping != "date",
        )
        currency = self.organization.currency
        header, lines = exports.report_display(rows, GROUPINGS[form.grouping], currency)
        return super().get_context_data(
            form=form,
            start=start,
            end=end,
            header=header,
            lines=lines,
            totals=totals,
            total_line=exports.report_display([totals], "", currency)[1][0][1:],
            as_of=as_of,
            chart=chart,
            query=self.request.GET.urlencode(),
            **kwargs,
        )


class ReportExportView(ReportView):
    def get(self, request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
        if fmt not in exports.FORMATS:
            raise Http404("Export as csv or xlsx.")
        form, rows, _, _ = self.report()
        start, end = form.range
        header, lines, formats = exports.report_table(
            rows, GROUPINGS[form.grouping], self.organization.currency
        )
        filename = f"report-{form.grouping}-{start}-{end}"
        return exports.table_response(fmt, filename, header, lines, formats)


class ConversionLogView(PublisherPage):
    template_name = "portal/conversions.html"
    tab = "conversions"

    def conversions(self) -> ConversionFilter:
        return ConversionFilter(
            self.request.GET, selectors.leads_of(self.partner), offers=selectors.offers_visible(self.partner)
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        filterset = self.conversions()
        page = Paginator(filterset.qs, LOG_PAGE_SIZE).get_page(self.request.GET.get("page"))
        rows = [(lead, selectors.shown_ip(lead)) for lead in page]
        params = self.request.GET.copy()
        params.pop("page", None)
        return super().get_context_data(
            filterset=filterset, page=page, rows=rows, query=params.urlencode(), **kwargs
        )


# The export's column titles, in the publisher's language as on the page (README "Languages").
CONVERSION_HEADER = (
    gettext_lazy("Campaign"),
    gettext_lazy("Goal"),
    gettext_lazy("Click ID"),
    gettext_lazy("Conversion time"),
    gettext_lazy("Status"),
    gettext_lazy("Payout"),
    gettext_lazy("Currency"),
    gettext_lazy("Ref ID"),
    "IP",
    gettext_lazy("Reason"),
)
CONVERSION_FORMATS = (None, None, None, None, None, XLSX_MONEY_FORMAT)


def _conversion_line(lead: Any) -> list[Any]:
    click = lead.click_seen  # its row may be gone with its partition (retention)
    return [
        lead.offer.name,
        lead.goal.code if lead.goal_id else "",
        click.click_id if click else "",
        lead.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        lead.get_status_display(),
        in_minor_units(lead.payout, lead.currency),
        lead.currency,
        click.ref_id if click else "",
        selectors.shown_ip(lead),
        lead.verdict_reason,
    ]


class ConversionExportView(ConversionLogView):
    def get(self, request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
        if fmt not in exports.FORMATS:
            raise Http404("Export as csv or xlsx.")
        leads = self.conversions().qs.iterator(chunk_size=2000)
        lines = (_conversion_line(lead) for lead in leads)
        header = [str(title) for title in CONVERSION_HEADER]
        return exports.table_response(fmt, "conversions", header, lines, CONVERSION_FORMATS)


class PaymentsView(PublisherPage):
    template_name = "portal/payments.html"
    tab = "payments"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("payout_form", PayoutRequestForm())
        return super().get_context_data(
            payouts=selectors.payouts_of(self.partner).annotate(lead_count=Count("lines"))[:100],
            method=selectors.payment_method_of(self.partner),
            **kwargs,
        )


class PaymentMethodView(PublisherMixin, FormView):
    template_name = "portal/payment_method.html"
    form_class = PaymentMethodForm
    tab = "payments"
    success_url = reverse_lazy("portal:payments")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": selectors.payment_method_of(self.partner)}

    def form_valid(self, form: PaymentMethodForm) -> HttpResponse:
        data = dict(form.cleaned_data)
        services.payment_method_set(partner=self.partner, **data)
        messages.success(self.request, _("Payment method saved."))
        return super().form_valid(form)


class StatementView(PublisherMixin, View):
    """A payout's statement (the leads it pays) as CSV; another publisher's payout is a 404."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        payout = selectors.payout_of(self.partner, pk)
        response = HttpResponse(payout_exports.statement_csv(payout), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="payout-{payout.pk}-statement.csv"'
        return response


class PayoutRequestView(PaymentsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        form = PayoutRequestForm(request.POST)
        if form.is_valid():
            try:
                services.payout_request(
                    partner=self.partner,
                    organization=self.organization,
                    amount=form.cleaned_data["amount"],
                    user=request.user,
                )
            except ValidationError as refusal:
                form.add_error("amount", refusal)
            else:
                messages.success(request, _("Payout requested: a manager will send it."))
                return redirect("portal:payments")
        return self.render_to_response(self.get_context_data(payout_form=form))


class PostbackView(PublisherMixin, FormView):
    template_name = "portal/postback.html"
    form_class = PostbackForm
    tab = "postback"
    success_url = reverse_lazy("portal:postback")

    def get_initial(self) -> dict[str, Any]:
        return {"url": self.partner.publisher_postback_url}

    def form_valid(self, form: PostbackForm) -> HttpResponse:
        try:
            services.publisher_postback_set(partner=self.partner, url=form.cleaned_data["url"])
        except ValidationError as refusal:
            for message in refusal.message_dict["url"]:
                form.add_error("url", message)
            return self.form_invalid(form)
        messages.success(self.request, _("Postback URL saved."))
        return super().form_valid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # One preview, of the URL in the field (saved, or as just typed when refused); the
        # page's script keeps it current while typing.
        form = kwargs.setdefault("form", self.get_form())
        url = (form["url"].value() or "").strip()
        last_test = selectors.publisher_last_test(self.partner)
        return super().get_context_data(
            preview=preview(url) if url else "",
            deliveries=selectors.publisher_deliveries(self.partner),
            last_test=last_test,
            last_test_attempt=last_attempt(last_test) if last_test else None,
            signed=bool(self.partner.publisher_postback_secret_encrypted),
            secret=_readable_secret(self.partner),
            pause_after_failures=settings.POSTBACK_PAUSE_AFTER_FAILURES,
            **kwargs,
        )


def _readable_secret(partner: Any) -> str:
    try:
        return signing_secret_of(partner)
    except UndecryptableSecret:
        return ""


class PostbackPreviewView(PublisherMixin, View):
    """The preview and the problems of a URL as it is typed (htmx)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        url = request.GET.get("url", "").strip()
        errors = services.publisher_postback_errors(url) if url else []
        return TemplateResponse(
            request,
            "portal/partials/postback_preview.html",
            {"errors": errors, "preview": preview(url) if url else ""},
        )


class ProfileView(PublisherMixin, FormView):
    template_name = "portal/profile.html"
    form_class = ProfileForm
    success_url = reverse_lazy("portal:profile")

    def get_initial(self) -> dict[str, Any]:
        return {
            "contact_name": self.partner.contact_name,
            "email": self.request.user.email or self.partner.contact_email,
            "website": self.partner.website,
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs, second_factor=second_factor_status(self.request.user))

    def form_valid(self, form: ProfileForm) -> HttpResponse:
        services.profile_update(partner=self.partner, user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Profile saved."))
        return super().form_valid(form)


class DataDownloadView(PublisherMixin, View):
    """Everything the publisher's account holds, as a ZIP made while it is sent (privacy.exports)."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        name = f"partnerdesk-data-{self.partner.pk}-{timezone.localdate():%Y-%m-%d}.zip"
        return StreamingHttpResponse(
            publisher_data_zip(partner=self.partner),
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )


class ReferralView(PublisherPage):
    template_name = "portal/referrals.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        referrals = list(selectors.referrals_of(self.partner))
        earned = earnings_by_partner(partner_ids=[r.partner_id for r in referrals])
        share = self.organization.referral_share
        rows = [(r, earned.get(r.partner_id, 0) * share / 100) for r in referrals]
        link = self.request.build_absolute_uri(
            f"{reverse('portal:signup')}?ref={selectors.referral_code_of(self.partner)}"
        )
        return super().get_context_data(referral_link=link, rows=rows, share=share, **kwargs)


class SignupView(FormView):
    template_name = "portal/signup.html"
    form_class = SignupForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.referrer = selectors.referrer_by_code(request.GET.get("ref", ""))
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: SignupForm) -> HttpResponse:
        if self.referrer is None:
            return self.form_invalid(form)
        try:
            services.publisher_signup(referrer=self.referrer, **form.cleaned_data)
        except ValidationError as refusal:
            for field, errors in refusal.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        return HttpResponseRedirect(reverse("portal:signup_done"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(referrer=self.referrer, **kwargs)


class PostbackTestView(PublisherMixin, View):
    """Sends the publisher's own saved postback once, now, with sample values (a test delivery);
    the Postback tab then shows what was sent and what came back."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            delivery = testsend.publisher_postback_test(partner=self.partner, actor=request.user)
        except DeliveryRefused as refusal:
            messages.error(request, str(refusal))
        else:
            if delivery.state == delivery.State.DONE:
                answer = delivery.last_status_code
                sent = _("Test postback sent: your server answered %(status)s.") % {"status": answer}
                messages.success(request, sent)
            else:
                messages.error(request, _("Test postback failed: %(error)s") % {"error": delivery.last_error})
        return redirect(f"{reverse('portal:postback')}#pd-last-test")


_SECRET_DONE = {
    "generate": gettext_lazy(
        "Signing is on: copy the secret below into your tracker, which verifies every call with it."
    ),
    "rotate": gettext_lazy("New secret made: calls from now on are signed with it, so update your tracker."),
    "remove": gettext_lazy("Signing is off: your postback calls are no longer signed."),
}


class PostbackSecretView(PublisherMixin, View):
    """The publisher turns signing of its own postback on (generate), renews it (rotate) or off."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("signing", "")
        if action not in _SECRET_DONE:
            messages.error(request, _("Choose Generate, Rotate or Remove for the signing secret."))
        else:
            secret = "" if action == "remove" else new_signing_secret()
            signing_secret_set(owner=self.partner, secret=secret)
            messages.success(request, _SECRET_DONE[action])
        return redirect(f"{reverse('portal:postback')}#pd-signing")


class PostbackResumeView(PublisherMixin, View):
    """Resumes the publisher's own paused postback: what waited is sent, what failed is sent again."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            count = destination_resume(destination=publisher_destination(self.partner))
        except ResumeRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, resumed_message(count))
        return redirect("portal:postback")


def portal_logout(request: HttpRequest) -> HttpResponse:
    """Sign out (POST) and land on the portal's login page."""
    if request.method == "POST":
        logout(request)
    return redirect("portal:login")


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switcher: Django's `set_language` (cookie, safe `next`), and a signed-in
    publisher's choice saved on its login, so every later sign-in speaks it too."""
    response = set_language(request)
    language = request.POST.get("language", "")
    membership = membership_of(request.user)
    if membership is not None and language in dict(settings.LANGUAGES):
        membership_language_set(membership=membership, language=language)
    return response
