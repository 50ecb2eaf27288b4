from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DemoConfig(AppConfig):
    """The demo organization `manage.py seed_demo` creates: scaffolding, not the product."""

    name = "demo"
    verbose_name = gettext_lazy("Demo data")
