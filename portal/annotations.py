"""Every annotation and label key Paved reads or writes, named once. In `portal` because the
providers (below every domain app) write some of them too. Built-in template YAML keeps the
literal keys: it is what template authors read and copy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# --- Backstage's well-known annotations ------------------------------------------------------
MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
SOURCE_TEMPLATE = "backstage.io/source-template"
TECHDOCS_REF = "backstage.io/techdocs-ref"
KUBERNETES_NAMESPACE = "backstage.io/kubernetes-namespace"
# The `status.items[].type` of processing errors in Backstage's entity API.
CATALOG_PROCESSING_STATUS = "backstage.io/catalog-processing"

# --- Vendors' annotations (as their Backstage plugins read them) -----------------------------
PAGERDUTY_SERVICE_ID = "pagerduty.com/service-id"
OPSGENIE_TEAM = "opsgenie.com/team"
ARGOCD_APP_NAME = "argocd/app-name"
ARGOCD_APP_NAMESPACE = "argocd/app-namespace"
GITHUB_PROJECT_SLUG = "github.com/project-slug"
# `<host>/project-slug` (github.com, gitlab.com, the local git host...): `owner/name`.
PROJECT_SLUG_SUFFIX = "/project-slug"

# --- Paved's own annotations -----------------------------------------------------------------
ON_CALL = "paved.dev/on-call"  # the owning group, when no rotation exists
TEMPLATE = "paved.dev/template"  # the template a component was created from
TEMPLATE_VERSION = "paved.dev/template-version"  # its version (content hash) when made
TEMPLATE_CHANGELOG = "paved.dev/changelog"  # on a Template: what its latest version changed
TEMPLATE_DIR = "paved.dev/template-dir"  # where a Template's files live on this server
ALLOWED_GROUPS = "paved.dev/allowed-groups"  # teams that may run a Template
REPOSITORY_OWNERS = "paved.dev/repository-owners"
NAMESPACE = "paved.dev/namespace"
ENVIRONMENT = "paved.dev/environment"
HOST = "paved.dev/host"
# Only Paved writes these; a registered document that carries them has them removed.
PAVED_ONLY = (TEMPLATE_DIR,)
# Where a component's namespace is recorded, first one present wins; else the component's name.
NAMESPACE_KEYS = (NAMESPACE, KUBERNETES_NAMESPACE, ARGOCD_APP_NAMESPACE)

# --- Labels on the Kubernetes objects Paved writes -------------------------------------------
OWNER_LABEL = "paved.dev/owner"
SERVICE_LABEL = "paved.dev/service"
ENVIRONMENT_LABEL = "paved.dev/environment"
RUN_LABEL = "paved.dev/run"


def is_project_slug(key: object) -> bool:
    return str(key).endswith(PROJECT_SLUG_SUFFIX)


def project_slugs(annotations: Mapping[str, Any]) -> Iterator[str]:
    """Every `<host>/project-slug` value, as written."""
    for key, value in annotations.items():
        if is_project_slug(key) and value:
            yield str(value)


def repository_slug(metadata: object) -> str:
    """`owner/name` from an entity's `<host>/project-slug` annotation, or ""."""
    annotations = ((metadata if isinstance(metadata, dict) else {}).get("annotations")) or {}
    for key in sorted(annotations):
        value = str(annotations[key]).strip().strip("/")
        if is_project_slug(key) and value.count("/") == 1:
            return value
    return ""
