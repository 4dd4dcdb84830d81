"""Portal URLs plus stand-ins for every top-navigation target, to check the full top bar.

(The first app namespace in the list wins when reversing, so these stand-ins are found before
the real apps' URLs, whichever of them exist on this branch.)
"""

from django.urls import include, path

from portal.home.views import home
from portal.urls import urlpatterns as portal_urlpatterns


def _standin(app: str, name: str) -> object:
    return path(f"nav-{app}/", include(([path("", home, name=name)], app)))


urlpatterns = [
    _standin("catalog", "entity-list"),
    _standin("scaffolder", "template-list"),
    _standin("infra", "request-list"),
    _standin("metrics", "dashboard"),
    *portal_urlpatterns,
]
