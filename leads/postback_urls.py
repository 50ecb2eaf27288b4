"""Lead and status postbacks and the conversion API (SPEC 8): each path answers GET and POST."""

from __future__ import annotations

from django.urls import path

from leads import views

urlpatterns = [
    path("api/site/click.json", views.lead_postback, name="postback-lead-compat"),
    path("postback/lead", views.lead_postback, name="postback-lead"),
    path("api/site/status.json", views.status_postback, name="postback-status-compat"),
    path("postback/status", views.status_postback, name="postback-status"),
    path("api/v1/conversions", views.conversion, name="conversion-api"),
]
