#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enterprise.settings")
    # Lets settings tell offline commands (which may run without the secrets) from serving.
    os.environ["ENTERPRISE_MANAGEMENT_COMMAND"] = sys.argv[1] if len(sys.argv) > 1 else "help"
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A wrong environment variable: one line that names it, not a traceback.
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
