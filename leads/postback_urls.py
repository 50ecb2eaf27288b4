"""Lead and status postbacks and the conversion API."""

urlpatterns: list = []
