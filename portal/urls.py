"""The publisher portal's pages, mounted at /portal/."""

app_name = "portal"
urlpatterns: list = []
