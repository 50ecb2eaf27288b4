"""Ingestion endpoints: tracking links, pixels, postbacks and the server-to-server APIs."""

urlpatterns: list = []
