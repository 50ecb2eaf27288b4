"""The second factor's pages, mounted twice: `/admin/2fa/` (admin_2fa) and `/portal/2fa/` (portal_2fa)."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts import views

app_name = "second_factor"


def second_factor_urls(area: str) -> tuple[list[URLPattern], str]:
    """The pages in the admin's or the portal's look, for `include(..., namespace=f"{area}_2fa")`."""
    patterns = [
        path("", views.OverviewView.as_view(area=area), name="overview"),
        path("verify/", views.VerifyView.as_view(area=area), name="verify"),
        path("enrol/", views.EnrolView.as_view(area=area), name="enrol"),
        path("recovery-codes/", views.RecoveryCodesView.as_view(area=area), name="recovery_codes"),
        path("off/", views.DisableView.as_view(area=area), name="disable"),
    ]
    return patterns, app_name
