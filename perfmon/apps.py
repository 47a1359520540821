from django.apps import AppConfig


class PerfmonConfig(AppConfig):
    name = "perfmon"
    verbose_name = "Performance monitoring"
