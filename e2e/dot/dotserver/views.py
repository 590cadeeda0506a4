from django.http import JsonResponse
from oauth2_provider.decorators import protected_resource


@protected_resource(scopes=["read"], advertise_metadata=True)
def me(request):
    """The protected JSON endpoint: who the access token belongs to."""
    user = request.resource_owner
    return JsonResponse({"username": user.get_username(), "email": user.email})
