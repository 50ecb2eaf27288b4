"""Admin-side pages of the postbacks app (mounted under /admin/macros/)."""

urlpatterns: list = []
