"""Top-level URLs: the home page, the admin, the management API, ingestion endpoints, the health check
and the scripts' catalogue of words."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import ApiTokenRotateView
from accounts.urls import second_factor_urls
from accounts.views import api_key_page
from config import views
from config.api import router
from config.i18n import admin_text

if settings.BENCH_BASELINE:  # benchmark scaffolding, routed only when asked for
    from bench.baseline import baseline

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.healthz, name="healthz"),
    path("jsi18n/<str:language>/", views.javascript_catalog, name="javascript-catalog"),
    *([path("bench/baseline", baseline)] if settings.BENCH_BASELINE else []),
    path("admin/macros/", include("postbacks.urls")),
    path("admin/2fa/", include(second_factor_urls("admin"), namespace="admin_2fa")),
    path("admin/api-key/", admin.site.admin_view(api_key_page), name="admin_api_key"),
    path("admin/", admin.site.urls),
    # Ingestion (partners' and advertisers' servers) comes before the management
    # router: `/api/v1/clicks` (ingest) and `/api/v1/clicks/` (list) differ by the slash.
    path("", include("ingest.urls")),
    path("api/v1/me/token/rotate/", ApiTokenRotateView.as_view(), name="api-token-rotate"),
    path("api/v1/", include(router.urls)),
    path("portal/2fa/", include(second_factor_urls("portal"), namespace="portal_2fa")),
    path("portal/", include("portal.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (`?script`), so the
    # page runs under the Content-Security-Policy without an inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# JSON on ingestion paths and the API; styled pages for the admin, the portal and the site.
handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error

admin.site.site_header = "Partnerdesk"
admin.site.site_title = "Partnerdesk"
admin.site.index_title = admin_text("Partner management")
