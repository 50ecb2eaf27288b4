from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ColumnarConfig(AppConfig):
    name = "columnar"
    verbose_name = gettext_lazy("Columnar export")
