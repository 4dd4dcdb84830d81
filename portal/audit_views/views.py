"""The audit trail for platform admins: browse, filter, export. Nobody edits it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, time

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from portal.auth.decorators import platform_admin_required
from portal.htmx import render_page
from portal.models import AuditEvent

PAGE_SIZE = 50
EXPORT_FIELDS = [
    "created_at", "actor_name", "action", "target_type", "target_id", "target_label",
    "summary", "before", "after", "ip_address", "session_key",
]  # fmt: skip


def _filtered(request: HttpRequest) -> tuple[QuerySet[AuditEvent], dict[str, str]]:
    filters = {
        k: request.GET.get(k, "").strip() for k in ("actor", "action", "target", "since", "until")
    }
    events = AuditEvent.objects.all()
    if filters["actor"]:
        events = events.filter(actor_name__iexact=filters["actor"])
    if filters["action"]:
        events = events.filter(action__startswith=filters["action"])
    if filters["target"]:
        events = events.filter(target_type=filters["target"])
    for key, lookup, bound in (("since", "gte", time.min), ("until", "lte", time.max)):
        day = parse_date(filters[key]) if filters[key] else None
        if day:
            moment = timezone.make_aware(datetime.combine(day, bound))
            events = events.filter(**{f"created_at__{lookup}": moment})
    return events.order_by("-created_at", "-id"), filters


_ADMINS_ONLY = "Only platform admins may read the audit trail."


@platform_admin_required(_ADMINS_ONLY)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    events, filters = _filtered(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    actions = AuditEvent.objects.order_by().values_list("action", flat=True).distinct()
    targets = AuditEvent.objects.order_by().values_list("target_type", flat=True).distinct()
    return render_page(
        request,
        "portal/audit_list.html",
        {
            "page": page,
            "filters": filters,
            "actions": sorted(set(actions)),
            "targets": sorted(set(targets)),
        },
        partial="audit-table",
    )


class _Echo:
    def write(self, value: str) -> str:  # csv.writer only needs write()
        return value


@platform_admin_required(_ADMINS_ONLY)
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    if fmt not in ("csv", "json"):
        raise Http404("Export as csv or json")
    events, _ = _filtered(request)
    rows = events.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow(EXPORT_FIELDS)
            for row in rows:
                yield writer.writerow(
                    [json.dumps(v) if isinstance(v, dict | list) else v for v in row]
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv")
    else:

        def chunks() -> Iterator[str]:
            yield "["
            for index, row in enumerate(rows):
                record = dict(zip(EXPORT_FIELDS, row, strict=True))
                record["created_at"] = record["created_at"].isoformat()
                yield ("," if index else "") + json.dumps(record)
            yield "]"

        response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="paved-audit-{stamp}.{fmt}"'
    return response
