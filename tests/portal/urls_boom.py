"""A URLconf with a failing public view, for the error-page tests."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


@login_not_required
def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [path("boom", boom)]
handler500 = "portal.middleware.server_error"
