"""Admin-side pages of the postbacks app (mounted under /admin/macros/)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from postbacks import views

urlpatterns = [
    path("", admin.site.admin_view(views.macro_reference), name="macro-reference"),
]
