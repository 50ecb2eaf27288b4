"""Tracking-link click and impression endpoints, and the server-to-server click APIs."""

urlpatterns: list = []
