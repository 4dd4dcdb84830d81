"""Rendering the golden path (`python-service`) the way `scaffold dry-run` does, for every
option combination that changes the files it writes."""

from __future__ import annotations

import hashlib
import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scaffolder.dry_run import dry_run
from scaffolder.loader import load_template_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "scaffolder/templates_builtin/python-service/template.yaml"
BASE_PLATFORM: dict[str, Any] = {
    "secretStore": "platform-secrets",
    "gateway": {"name": "platform-gateway", "namespace": "gateway-system"},
    "hostPattern": "{name}.{environment}.apps.example.com",
    "rolloutsGatewayPlugin": True,
    "onCallProvider": "none",
    "prometheusUrl": "http://prometheus-operated.monitoring.svc:9090",
}
# The platform's on-call tool, and the choice made in the form: each of the four choices.
ON_CALL = [("none", "platform"), ("pagerduty", "pagerduty"), ("opsgenie", "opsgenie"),
           ("pagerduty", "team")]  # fmt: skip


@dataclass(frozen=True)
class Variant:
    canary: bool
    gateway_plugin: bool
    on_call: tuple[str, str]
    system: bool
    environment: str = "dev"
    name: str = "orders-api"

    @property
    def label(self) -> str:
        return (
            f"{self.name}-{'canary' if self.canary else 'bluegreen'}"
            f"-{'plugin' if self.gateway_plugin else 'noplugin'}-{self.on_call[1]}"
            f"-{'system' if self.system else 'nosystem'}-{self.environment}"
        )

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": self.name,
            "owner": "group:default/team-orders",
            "repoUrl": f"github.com?owner=acme&repo={self.name}",
            "environment": self.environment,
            "canary": self.canary,
            "onCall": self.on_call[1],
        }
        if self.system:
            values["system"] = "system:default/shop"
        return values

    def platform(self) -> dict[str, Any]:
        return {**BASE_PLATFORM, "rolloutsGatewayPlugin": self.gateway_plugin,
                "onCallProvider": self.on_call[0]}  # fmt: skip


def all_variants() -> list[Variant]:
    """Every combination; environments alternate (they change names, not structure)."""
    combos = itertools.product([True, False], [True, False], ON_CALL, [True, False])
    return [
        Variant(canary, plugin, on_call, system, environment=("dev", "staging")[i % 2])
        for i, (canary, plugin, on_call, system) in enumerate(combos)
    ]


def render(variant: Variant, out: Path) -> Path:
    """The generated repository, as `publish:git` would commit it (a git work tree)."""
    template = load_template_file(TEMPLATE)
    result = dry_run(template, variant.values(), workspace=out, platform=variant.platform())
    assert result.status == "completed", (variant.label, result.error)
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    return out


def python_tree_digest(tree: Path) -> str:
    """What decides whether CI's install, lint and tests can differ: code, packaging, CI."""
    digest = hashlib.sha256()
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree).as_posix()
        if path.is_file() and (
            rel.startswith(("app/", "tests/", ".github/"))
            or rel in {"pyproject.toml", "Dockerfile", ".dockerignore", ".gitignore"}
        ):
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """What Argo CD applies: `kubectl kustomize` of the folder."""
    built = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]
