from __future__ import annotations

from django.contrib import admin

from portal.admin_base import ReadOnlyModelAdmin
from portal.auth.passwords import RateLimitedAdminLoginForm
from portal.models import AuditEvent

# Admin's password check shares the sign-in page's failed-password rate limit.
admin.site.login_form = RateLimitedAdminLoginForm


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """Read-only: the audit trail is evidence."""

    list_display = (
        "created_at",
        "actor_name",
        "action",
        "target_type",
        "target_label",
        "ip_address",
    )
    list_filter = ("action", "target_type", "created_at")
    search_fields = ("actor_name", "action", "target_label", "summary")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    show_full_result_count = False


def _unregister_settings_managed_models() -> None:
    """SSO apps come from environment variables (docs/configuration.md), not database rows: an
    app added here would clash with the configured one. Tokens are not stored at all."""
    from allauth.socialaccount.models import SocialApp, SocialToken

    for model in (SocialApp, SocialToken):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_settings_managed_models()
