"""Prints a user's tokens as the provider sees them, as one JSON line (no token values).

    manage.py dot_tokens alice
    {"access_tokens": 1, "refresh_tokens": [{"created": "...", "revoked": false}, ...]}
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_access_token_model, get_refresh_token_model


class Command(BaseCommand):
    help = "Show how many access tokens a user has and which refresh tokens are revoked."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = get_user_model().objects.get(username=options["username"])
        refresh = get_refresh_token_model().objects.filter(user=user).order_by("created")
        self.stdout.write(json.dumps({
            "access_tokens": get_access_token_model().objects.filter(user=user).count(),
            "refresh_tokens": [{"created": t.created.isoformat(), "revoked": t.revoked is not None} for t in refresh],
        }))
