"""Revokes every token of a user, as "remove this app" in the provider's settings would.

    manage.py dot_revoke alice

Access tokens are deleted and refresh tokens marked revoked, so the next refresh gets
`invalid_grant`. Prints how many refresh tokens were revoked.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_access_token_model, get_refresh_token_model


class Command(BaseCommand):
    help = "Revoke every access and refresh token of a user."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = get_user_model().objects.get(username=options["username"])
        revoked = 0
        for token in get_refresh_token_model().objects.filter(user=user, revoked__isnull=True):
            token.revoke()
            revoked += 1
        get_access_token_model().objects.filter(user=user).delete()
        self.stdout.write(str(revoked))
