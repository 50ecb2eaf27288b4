from django.apps import AppConfig


class ColumnarConfig(AppConfig):
    name = "columnar"
    verbose_name = "Columnar export"
