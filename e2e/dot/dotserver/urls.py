from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider.urls import base_urlpatterns, metadata_urlpatterns

from . import views

urlpatterns = [
    # RFC 8414 §3: the metadata of issuer {PUBLIC_URL}/o lives at
    # /.well-known/oauth-authorization-server/o (the path-component form).
    path("", include((metadata_urlpatterns, "oauth2_metadata"))),
    path("o/", include((base_urlpatterns, "oauth2_provider"))),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("api/me", views.me, name="me"),
]
