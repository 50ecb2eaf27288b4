"""The publisher portal's pages, mounted at /portal/."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy
from django.views.generic import TemplateView

from portal import views
from portal.forms import PortalPasswordResetForm

app_name = "portal"


def _auth(view: type, template: str, **kwargs: object):
    return view.as_view(template_name=f"portal/{template}.html", **kwargs)


urlpatterns = [
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.portal_logout, name="logout"),
    path("language/", views.language_set, name="language"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/done/", TemplateView.as_view(template_name="portal/signup_done.html"), name="signup_done"),
    path(
        "password-reset/",
        _auth(
            auth_views.PasswordResetView,
            "password_reset",
            form_class=PortalPasswordResetForm,
            email_template_name="portal/email/password_reset.txt",
            subject_template_name="portal/email/password_reset_subject.txt",
            success_url=reverse_lazy("portal:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        _auth(auth_views.PasswordResetDoneView, "password_reset_done"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        _auth(
            auth_views.PasswordResetConfirmView,
            "password_reset_confirm",
            success_url=reverse_lazy("portal:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        _auth(auth_views.PasswordResetCompleteView, "password_reset_complete"),
        name="password_reset_complete",
    ),
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="campaign"),
    path("campaigns/<int:pk>/request/", views.CampaignRequestView.as_view(), name="campaign_request"),
    path("creatives/<int:pk>/", views.CreativeDownloadView.as_view(), name="creative"),
    path("report/", views.ReportView.as_view(), name="report"),
    path("report/export/<str:fmt>/", views.ReportExportView.as_view(), name="report_export"),
    path("payments/", views.PaymentsView.as_view(), name="payments"),
    path("payments/method/", views.PaymentMethodView.as_view(), name="payment_method"),
    path("payments/request/", views.PayoutRequestView.as_view(), name="payout_request"),
    path("payments/<int:pk>/statement/", views.StatementView.as_view(), name="statement"),
    path("conversions/", views.ConversionLogView.as_view(), name="conversions"),
    path("conversions/export/<str:fmt>/", views.ConversionExportView.as_view(), name="conversions_export"),
    path("postback/", views.PostbackView.as_view(), name="postback"),
    path("postback/preview/", views.PostbackPreviewView.as_view(), name="postback_preview"),
    path("postback/test/", views.PostbackTestView.as_view(), name="postback_test"),
    path("postback/secret/", views.PostbackSecretView.as_view(), name="postback_secret"),
    path("postback/resume/", views.PostbackResumeView.as_view(), name="postback_resume"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/data/", views.DataDownloadView.as_view(), name="data_download"),
    path("referrals/", views.ReferralView.as_view(), name="referrals"),
]
