"""Ingestion endpoints (SPEC 8): tracking links and pixels, postbacks and the server-to-server APIs.

Each postback path answers GET and POST. The server-to-server APIs have no trailing slash:
`/api/v1/clicks/` (with it) is the management API's list.
"""

from __future__ import annotations

from django.urls import path

from ingest import tracking_views, views

urlpatterns = [
    path("c/<str:code>", tracking_views.click_redirect, name="tracking-click"),
    path("s/<str:code>", tracking_views.smart_click, name="tracking-smart-link"),
    path("i/<str:code>", tracking_views.impression_pixel, name="tracking-impression"),
    path("api/v1/clicks", tracking_views.click_api, name="click-api"),
    path("api/v1/impressions", tracking_views.impression_api, name="impression-api"),
    path("api/site/click.json", views.lead_postback, name="postback-lead-compat"),
    path("postback/lead", views.lead_postback, name="postback-lead"),
    path("api/site/status.json", views.status_postback, name="postback-status-compat"),
    path("postback/status", views.status_postback, name="postback-status"),
    path("api/v1/conversions", views.conversion, name="conversion-api"),
]
