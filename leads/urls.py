"""Ingestion endpoints: tracking links and pixels, postbacks and the server-to-server APIs."""

from leads import postback_urls, tracking_urls

urlpatterns = [*tracking_urls.urlpatterns, *postback_urls.urlpatterns]
