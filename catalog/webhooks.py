"""Push webhook: a signed push to a repository refreshes its catalog locations at once.

GitHub's format: header `X-Hub-Signature-256: sha256=<hmac of the body>` and a JSON body with
`repository.full_name`. The secret is PAVED_CATALOG_WEBHOOK_SECRET."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.services import locations_for_repository
from catalog.tasks import refresh_location


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """GitHub's X-Hub-Signature-256 check, in constant time. Compared as bytes: compare_digest
    refuses non-ASCII str, and a header is whatever the sender put there."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").encode())


@csrf_exempt
@login_not_required
@require_POST
def push(request: HttpRequest) -> JsonResponse:
    secret = getattr(settings, "PAVED_CATALOG_WEBHOOK_SECRET", "")
    if not secret:
        return JsonResponse({"error": "webhook secret not configured"}, status=503)
    if not signature_ok(request.body, request.headers.get("X-Hub-Signature-256", ""), secret):
        return JsonResponse({"error": "bad signature"}, status=403)
    try:
        payload = json.loads(request.body)
        full_name = str(payload["repository"]["full_name"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected JSON with repository.full_name"}, status=400)
    locations = locations_for_repository(full_name)
    for location in locations:
        refresh_location.delay_on_commit(location.pk)  # type: ignore[attr-defined]
    return JsonResponse({"repository": full_name, "refreshing": len(locations)})
