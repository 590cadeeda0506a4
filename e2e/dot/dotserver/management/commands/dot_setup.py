"""Creates the test users and the vault's OAuth client (idempotent).

    manage.py dot_setup --redirect-uri http://localhost:4000/oauth/callback/dot \
        [--client-id alter-vault] [--client-secret ...]

Users: alice and bob (password: the user name + "-password"). The application is a
confidential client for the authorization-code grant whose only redirect URI is the vault's
callback; PKCE is required by the server's settings. Prints the client as one JSON line.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

USERS = {"alice": "alice@dot.test", "bob": "bob@dot.test"}


class Command(BaseCommand):
    help = "Create users alice and bob and the vault's confidential OAuth client."

    def add_arguments(self, parser):
        parser.add_argument("--redirect-uri", required=True)
        parser.add_argument("--client-id", default="alter-vault-conformance")
        parser.add_argument("--client-secret", default="conformance-client-secret")

    def handle(self, *args, **options):
        User = get_user_model()
        for name, email in USERS.items():
            user, _ = User.objects.get_or_create(username=name, defaults={"email": email})
            user.email = email
            user.set_password(name + "-password")
            user.save()

        Application = get_application_model()
        Application.objects.filter(client_id=options["client_id"]).delete()
        Application.objects.create(
            name="Alter Vault (conformance)",
            client_id=options["client_id"],
            client_secret=options["client_secret"],  # hashed on save; the plain value is printed below
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=options["redirect_uri"],
            skip_authorization=False,
            algorithm="",
        )
        self.stdout.write(json.dumps({
            "client_id": options["client_id"],
            "client_secret": options["client_secret"],
            "redirect_uri": options["redirect_uri"],
            "users": {name: name + "-password" for name in USERS},
        }))
