from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo organization `manage.py seed_demo` creates: scaffolding, not the product."""

    name = "demo"
    verbose_name = "Demo data"
