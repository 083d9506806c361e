#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joycart.settings")
    if sys.argv[1:2] == ["runserver"] and not os.environ.get("DJANGO_DEBUG"):
        # The development server is for development: DEBUG is on unless the caller says otherwise.
        os.environ["DJANGO_DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
