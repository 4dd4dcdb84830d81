from django.contrib import admin
from django.urls import include, path

from portal import notification_views
from portal.auth import github as github_auth
from portal.home import views as home_views
from portal.search import views as search_views

admin.site.site_header = "Paved administration"
admin.site.site_title = "Paved admin"
admin.site.index_title = "Platform team"

urlpatterns = [
    path("", home_views.home, name="home"),
    path("healthz", home_views.healthz, name="healthz"),
    path("favicon.ico", home_views.favicon, name="favicon"),
    path("readyz", home_views.readyz, name="readyz"),
    path("search/", search_views.search, name="search"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read", notification_views.notifications_read, name="notifications-read"),
    path("notifications/count", notification_views.notification_count, name="notification-count"),
    path("docs/", include("portal.docs.urls")),
    path("audit/", include("portal.audit_views.urls")),
    # GitHub sign-in through Paved's adapter (organisation check, configurable GitHub URL);
    # first in the list, so these win over allauth's own routes of the same names.
    path("accounts/github/login/", github_auth.oauth2_login, name="github_login"),
    path("accounts/github/login/callback/", github_auth.oauth2_callback, name="github_callback"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("catalog/", include("catalog.urls")),
    path("api/openapi.json", include("catalog.openapi_urls")),
    path("api/catalog/", include("catalog.api_urls")),
    path("", include("runs.urls")),
    path("", include("scaffolder.urls")),
    path("infra/", include("infra.urls")),
    path("metrics/", include("metrics.urls")),
    path("git/", include("portal.providers.local_git.urls")),
    path("api/metrics/", include("metrics.api_urls")),
    path("hooks/", include("metrics.hook_urls")),
]

# A database outage met in middleware (sessions, auth) gets the friendly 503 page too.
handler500 = "portal.middleware.server_error"
# Unknown URLs under /api/ answer JSON like the rest of the API, not the HTML 404 page.
handler404 = "portal.middleware.page_not_found"
