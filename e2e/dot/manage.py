#!/usr/bin/env python3
"""django-oauth-toolkit as a loopback OAuth 2.0 server for Alter Vault's conformance tests.

Start it with scripts/dot-server; it is a test fixture, never a production server.
"""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotserver.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
