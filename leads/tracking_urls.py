"""Tracking-link click and impression endpoints, and the server-to-server click APIs."""

from __future__ import annotations

from django.urls import path

from leads import tracking_views

urlpatterns = [
    path("c/<str:code>", tracking_views.click_redirect, name="tracking-click"),
    path("i/<str:code>", tracking_views.impression_pixel, name="tracking-impression"),
    # No trailing slash: `/api/v1/clicks/` (with it) is the management API's list.
    path("api/v1/clicks", tracking_views.click_api, name="click-api"),
    path("api/v1/impressions", tracking_views.impression_api, name="impression-api"),
]
