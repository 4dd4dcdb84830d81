"""Crossplane shapes: claims (v1) or namespaced XRs (v2), XRDs and Compositions, as plain dicts.

Pure functions of our models; no database writes, no provider calls. Key order follows the
Crossplane docs so the YAML reads the way platform engineers expect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from infra.models import Composition, CompositionMode, CrossplaneVersion, ResourceClass

XRD_API_V1 = "apiextensions.crossplane.io/v1"
XRD_API_V2 = "apiextensions.crossplane.io/v2"
COMPOSITION_API = "apiextensions.crossplane.io/v1"
PATCH_AND_TRANSFORM = "function-patch-and-transform"

# JSON Schema keywords a Kubernetes structural (OpenAPI v3) schema accepts.
_OPENAPI_KEYWORDS = {
    "type",
    "description",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "items",
    "properties",
    "required",
    "minItems",
    "maxItems",
    "uniqueItems",
    "nullable",
}


def connection_secret_name(name: str) -> str:
    """The Secret Crossplane writes into the claim's namespace (seed style: <name>-secret)."""
    return f"{name}-secret"


# External Secrets Operator: ExternalSecret is served as v1 since ESO 0.17; PushSecret is v1alpha1.
ESO_API = "external-secrets.io/v1"
ESO_PUSH_API = "external-secrets.io/v1alpha1"


def connection_store_key(*, environment: str, namespace: str, secret_name: str) -> str:
    """Where a connection secret lives in the platform's secret store. Under the service's own
    key (`<environment>/<namespace>`) when the claim is in the service's namespace."""
    return f"{environment}/{namespace}/{secret_name}"


def render_connection_push_secret(
    rc: ResourceClass, *, name: str, namespace: str, environment: str, store: str
) -> dict[str, Any] | None:
    """ESO PushSecret copying Crossplane's connection Secret into the ClusterSecretStore, one
    property per connection key; None when the class declares no keys (nothing to push)."""
    keys = [str(k) for k in rc.connection_secret_keys or []]
    if not keys:
        return None
    secret = connection_secret_name(name)
    remote = connection_store_key(environment=environment, namespace=namespace, secret_name=secret)
    return {
        "apiVersion": ESO_PUSH_API,
        "kind": "PushSecret",
        "metadata": {"name": f"{name}-connection", "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "deletionPolicy": "Delete",  # deleting the claim removes the store entry too
            "secretStoreRefs": [{"kind": "ClusterSecretStore", "name": store}],
            "selector": {"secret": {"name": secret}},
            "data": [
                {"match": {"secretKey": key, "remoteRef": {"remoteKey": remote, "property": key}}}
                for key in keys
            ],
        },
    }


def env_prefix(name: str) -> str:
    """What the service's environment variables from request `name` start with: ORDERS_DB_."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"


def render_connection_external_secret(
    *, name: str, namespace: str, environment: str, store: str
) -> dict[str, Any]:
    """The ExternalSecret a service adds to its manifests to read a connection secret from the
    store, exactly as it reads its own secrets; it yields the Secret `<name>-connection`."""
    secret = connection_secret_name(name)
    return {
        "apiVersion": ESO_API,
        "kind": "ExternalSecret",
        "metadata": {"name": f"{name}-connection", "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
            "target": {"name": f"{name}-connection", "creationPolicy": "Owner"},
            "dataFrom": [
                {
                    "extract": {
                        "key": connection_store_key(
                            environment=environment, namespace=namespace, secret_name=secret
                        )
                    },
                    # Keys become variables named after the request (ORDERS_DB_PASSWORD), so a
                    # service that reads a database and a cache gets both passwords.
                    "rewrite": [
                        {"transform": {"template": f"{env_prefix(name)}{{{{ .value | upper }}}}"}}
                    ],
                }
            ],
        },
    }


def selector_labels(provider: str, environment: str) -> dict[str, str]:
    return {"provider": provider, "environment": environment}


def render_claim(
    rc: ResourceClass,
    *,
    name: str,
    namespace: str,
    parameters: Mapping[str, Any],
    provider: str,
    environment: str,
) -> dict[str, Any]:
    """The object committed for a request: a v1 claim, or a v2 namespaced composite resource."""
    selector = {"matchLabels": selector_labels(provider, environment)}
    secret = {"name": connection_secret_name(name)}
    # Schema order, then anything else: JSONB storage does not keep key order.
    order = list(rc.parameter_properties())
    ordered = {k: parameters[k] for k in order if k in parameters}
    ordered.update({k: v for k, v in parameters.items() if k not in ordered})
    spec: dict[str, Any] = {"parameters": ordered}
    if rc.crossplane_version == CrossplaneVersion.V2:
        spec["crossplane"] = {"compositionSelector": selector}
    else:
        spec["compositionSelector"] = selector
    spec["writeConnectionSecretToRef"] = secret
    return {
        "apiVersion": rc.api_version,
        "kind": rc.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def openapi_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema reduced to what a CRD's structural openAPIV3Schema accepts."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _OPENAPI_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {name: openapi_schema(sub) for name, sub in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out[key] = openapi_schema(value)
        else:
            out[key] = value
    return out


def render_xrd(rc: ResourceClass) -> dict[str, Any]:
    """The CompositeResourceDefinition: v1 with claimNames by default, v2 namespaced on request."""
    schema = {**rc.parameter_schema, "properties": rc.parameter_properties()}
    spec_props: dict[str, Any] = {"parameters": openapi_schema(schema)}
    v2 = rc.crossplane_version == CrossplaneVersion.V2
    if v2:
        # v2 has no native XR connection secret; declare the field P&T composes the Secret from.
        spec_props["writeConnectionSecretToRef"] = {
            "type": "object",
            "properties": {"name": {"type": "string"}},
        }
    version = {
        "name": rc.version,
        "served": True,
        "referenceable": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "properties": spec_props,
                        "required": ["parameters"],
                    }
                },
            }
        },
    }
    spec: dict[str, Any] = {}
    if v2:
        spec["scope"] = "Namespaced"
    spec["group"] = rc.group
    spec["names"] = {"kind": rc.xr_kind, "plural": rc.xr_plural}
    if not v2:
        spec["claimNames"] = {"kind": rc.kind, "plural": rc.plural}
        if rc.connection_secret_keys:
            spec["connectionSecretKeys"] = list(rc.connection_secret_keys)
    spec["versions"] = [version]
    return {
        "apiVersion": XRD_API_V2 if v2 else XRD_API_V1,
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": rc.xrd_name},
        "spec": spec,
    }


def _pipeline_resources(resources: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """function-patch-and-transform wants an explicit patch type; native mode defaulted it."""
    out = []
    for resource in resources:
        copy = json.loads(json.dumps(resource))
        for patch in copy.get("patches") or []:
            patch.setdefault("type", "FromCompositeFieldPath")
        out.append(copy)
    return out


def render_composition(composition: Composition) -> dict[str, Any]:
    """The Composition, exactly as stored; v2 classes always get Pipeline mode."""
    rc = composition.resource_class
    spec: dict[str, Any] = {
        "compositeTypeRef": {
            "apiVersion": rc.api_version,
            "kind": composition.composite_type_kind or rc.xr_kind,
        }
    }
    pipeline = (
        composition.mode == CompositionMode.PIPELINE
        or rc.crossplane_version == CrossplaneVersion.V2
    )
    resources = composition.resources  # parsed afresh from YAML: ours to change
    if pipeline:
        fn_input: dict[str, Any] = {
            "apiVersion": "pt.fn.crossplane.io/v1beta1",
            "kind": "Resources",
        }
        if composition.patch_sets:
            fn_input["patchSets"] = composition.patch_sets
        fn_input["resources"] = _pipeline_resources(resources)
        spec["mode"] = "Pipeline"
        spec["pipeline"] = [
            {
                "step": "patch-and-transform",
                "functionRef": {"name": PATCH_AND_TRANSFORM},
                "input": fn_input,
            }
        ]
    else:
        # Native patch-and-transform (Crossplane v1's default mode, the seed's shape): no
        # `mode` key, resources directly under spec.
        if composition.write_connection_secrets_to_namespace:
            spec["writeConnectionSecretsToNamespace"] = (
                composition.write_connection_secrets_to_namespace
            )
        if composition.patch_sets:
            spec["patchSets"] = composition.patch_sets
        spec["resources"] = resources
    return {
        "apiVersion": COMPOSITION_API,
        "kind": "Composition",
        "metadata": {"name": composition.name, "labels": composition.selector_labels},
        "spec": spec,
    }


# --- export for a control plane (`infra export-crossplane --crossplane v2|v1`) ------------------

EXPORT_TARGETS = ("v2", "v1")
# Crossplane v2 has no default package registry: the Function package is fully qualified.
PATCH_AND_TRANSFORM_PACKAGE = (
    "xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform:v0.10.8"
)
# Where legacy (v1-style) XRs and their composed resources keep connection secrets; Crossplane
# copies the keys the XRD lists into the claim's `<name>-secret` in the claim's namespace.
LEGACY_CONNECTION_NAMESPACE = "crossplane-system"


class ExportError(ValueError):
    pass


def render_function() -> dict[str, Any]:
    """The Function package every Pipeline-mode Composition Paved exports runs."""
    return {
        "apiVersion": "pkg.crossplane.io/v1",
        "kind": "Function",
        "metadata": {"name": PATCH_AND_TRANSFORM},
        "spec": {"package": PATCH_AND_TRANSFORM_PACKAGE},
    }


def _namespaced_api(api_version: str) -> str:
    """Namespaced XRs compose namespaced managed resources: `<group>.m.upbound.io` in the
    Upbound providers (rds.aws.upbound.io -> rds.aws.m.upbound.io)."""
    group, _, version = api_version.rpartition("/")
    if group.endswith(".upbound.io") and ".m." not in f"{group}.":
        group = group.removesuffix(".upbound.io") + ".m.upbound.io"
    return f"{group}/{version}"


def _legacy_api(api_version: str) -> str:
    return api_version.replace(".m.upbound.io/", ".upbound.io/")


def _format(fmt: str) -> list[dict[str, Any]]:
    return [{"type": "string", "string": {"type": "Format", "fmt": fmt}}]


def wire_connection(
    resource: Mapping[str, Any], keys: Sequence[str], *, namespaced: bool
) -> dict[str, Any]:
    """A composed resource that writes its connection secret and passes the class's keys on.

    Legacy XRs (claims): the resource writes its secret to crossplane-system under a name from
    the XR's uid, and `connectionDetails` carry the keys into the XR's secret, which Crossplane
    copies into the claim's. Namespaced XRs (v2): the resource writes its secret next to it,
    and function-patch-and-transform composes the Secret the XR's writeConnectionSecretToRef
    names from `connectionDetails`."""
    from infra.presets import CONNECTION_DETAILS, CONNECTION_INPUTS, GENERATED_SECRETS

    out: dict[str, Any] = json.loads(json.dumps(resource))
    name = str(out.get("name") or "resource")
    base = out.setdefault("base", {})
    api = str(base.get("apiVersion", ""))
    base["apiVersion"] = _namespaced_api(api) if namespaced else _legacy_api(api)
    spec = base.setdefault("spec", {})
    patches = out.setdefault("patches", [])
    source = "metadata.name" if namespaced else "metadata.uid"
    secret_ref: dict[str, Any] = {} if namespaced else {"namespace": LEGACY_CONNECTION_NAMESPACE}
    spec["writeConnectionSecretToRef"] = {
        **secret_ref,
        **spec.get("writeConnectionSecretToRef", {}),
    }
    patches.append({"type": "FromCompositeFieldPath", "fromFieldPath": source,
                    "toFieldPath": "spec.writeConnectionSecretToRef.name",
                    "transforms": _format(f"%s-{name}")})  # fmt: skip
    kind_key = (_legacy_api(api).rpartition("/")[0], str(base.get("kind", "")))
    known = CONNECTION_DETAILS.get(kind_key, {})
    provider = spec.setdefault("forProvider", {})
    for key, value in CONNECTION_INPUTS.get(kind_key, {}).items():
        if key in keys:  # e.g. the database the app connects to: the provider does not publish it
            provider.setdefault(value[0], value[1])
    generated = GENERATED_SECRETS.get(kind_key)
    if generated and generated["key"] in keys:
        # The provider generates the credential and keeps it in a Secret it reads back; it
        # then writes it to the connection secret (nothing to store in git or by hand).
        provider.update({k: v for k, v in generated["set"].items() if k not in provider})
        ref = generated["ref"]
        provider.setdefault(ref, {"key": generated["secret_key"], **secret_ref})
        patches.append({"type": "FromCompositeFieldPath", "fromFieldPath": source,
                        "toFieldPath": f"spec.forProvider.{ref}.name",
                        "transforms": _format(f"%s-{name}-{generated['key']}")})  # fmt: skip
    out["connectionDetails"] = [
        {"name": key, **known.get(key, {"type": "FromConnectionSecretKey",
                                         "fromConnectionSecretKey": key})}
        for key in keys
    ]  # fmt: skip
    return out


def export_composition(composition: Composition, *, target: str) -> dict[str, Any]:
    """The Composition as a control plane of `target` runs it: Pipeline mode on Crossplane v2
    (native patch-and-transform is gone there), the stored mode on v1; connection details
    wired into the secret the claim or XR names (`<name>-secret`)."""
    rc = composition.resource_class
    namespaced = rc.crossplane_version == CrossplaneVersion.V2
    if namespaced and target == "v1":
        raise ExportError(
            f"{rc.name} uses Crossplane v2 namespaced composite resources, which Crossplane 1.x "
            "does not serve; export for v2, or set the class to Crossplane v1 (claims)"
        )
    keys = [str(k) for k in rc.connection_secret_keys or []]
    resources = [wire_connection(r, keys, namespaced=namespaced) for r in composition.resources]
    # The XR kind: a Composition naming the claim kind (as the seed does) is never selected.
    spec: dict[str, Any] = {"compositeTypeRef": {"apiVersion": rc.api_version, "kind": rc.xr_kind}}
    if not namespaced:
        spec["writeConnectionSecretsToNamespace"] = (
            composition.write_connection_secrets_to_namespace or LEGACY_CONNECTION_NAMESPACE
        )
    if target == "v2" or composition.mode == CompositionMode.PIPELINE:
        fn_input: dict[str, Any] = {
            "apiVersion": "pt.fn.crossplane.io/v1beta1",
            "kind": "Resources",
        }
        if composition.patch_sets:
            fn_input["patchSets"] = composition.patch_sets
        fn_input["resources"] = _pipeline_resources(resources)
        spec["mode"] = "Pipeline"
        spec["pipeline"] = [{"step": "patch-and-transform",
                             "functionRef": {"name": PATCH_AND_TRANSFORM}, "input": fn_input}]  # fmt: skip
    else:
        if composition.patch_sets:
            spec["patchSets"] = composition.patch_sets
        spec["resources"] = resources
    return {
        "apiVersion": COMPOSITION_API,
        "kind": "Composition",
        "metadata": {"name": composition.name, "labels": composition.selector_labels},
        "spec": spec,
    }


def to_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2)


# --- readiness (integrations.md §1.7) -----------------------------------------------------------


def condition(conditions: Sequence[Mapping[str, Any]], ctype: str) -> Mapping[str, Any]:
    for item in conditions or ():
        if item.get("type") == ctype:
            return item
    return {}


def crossplane_phase(conditions: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """Map Synced/Ready conditions to Ready, Error, Paused, Provisioning or Pending."""
    synced, ready = condition(conditions, "Synced"), condition(conditions, "Ready")
    if synced.get("status") == "False":
        phase = "Paused" if synced.get("reason") == "ReconcilePaused" else "Error"
        return phase, str(synced.get("message", ""))
    if ready.get("status") == "True":
        return "Ready", ""
    if not synced and not ready:
        return "Pending", "not reconciled yet"
    detail = str(ready.get("reason", ""))
    if ready.get("message"):
        detail += f": {ready['message']}"
    return "Provisioning", detail
