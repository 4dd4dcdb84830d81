"""The attacker persona and the embedded stack the attacks are replayed against: the local git
host (real bare repositories), the GitOps repository, and a real Celery worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity
from portal.providers.base import RepoRef
from runs.models import Run

EMBEDDED = {
    "PAVED_GIT_PROVIDER": "local",
    "PAVED_DEPLOY_PROVIDER": "gitops",
    "PAVED_CLUSTER_PROVIDER": "gitops",
}


@pytest.fixture
def embedded(settings: Any, tmp_path: Path) -> Path:
    """Local git host + GitOps repository under this test's folder."""
    for key, value in EMBEDDED.items():
        setattr(settings, key, value)
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    settings.PAVED_SHARED_REPOSITORY_OWNERS = []
    return tmp_path / "git"


@pytest.fixture
def worker_env(worker_env: dict[str, str], embedded: Path) -> dict[str, str]:
    return {**worker_env, **EMBEDDED, "PAVED_GIT_LOCAL_ROOT": str(embedded),
            "PAVED_SHARED_REPOSITORY_OWNERS": ""}  # fmt: skip


@pytest.fixture
def attacker(outsider: User) -> User:
    """A developer of team-payments, nothing else."""
    return outsider


@pytest.fixture
def attacker_client(attacker: User) -> Client:
    client = Client()
    client.force_login(attacker)
    return client


@pytest.fixture
def admin_client(platform_admin: User) -> Client:
    client = Client()
    client.force_login(platform_admin)
    return client


def push(owner: str, name: str, files: dict[str, str], *, branch: str = "main") -> RepoRef:
    """What a developer's own `git push` to their team's repository does."""
    from portal.providers import git_host

    host = git_host()
    repo, _ = host.ensure_repository(owner, name)
    if branch != "main":
        host.commit_files(repo, {"README.md": b"# readme\n"}, message="init", branch="main")
        host.ensure_branch(repo, branch, from_ref="main")
    host.commit_files(repo, {p: c.encode() for p, c in files.items()}, message="push",
                      branch=branch)  # fmt: skip
    return repo


def commits(owner: str, name: str, branch: str = "main") -> list[str]:
    """The commit ids on `branch` (empty when the repository or branch does not exist)."""
    import subprocess

    from django.conf import settings

    git_dir = Path(settings.PAVED_GIT_LOCAL_ROOT) / owner / f"{name}.git"
    if not git_dir.exists():
        return []
    out = subprocess.run(["git", "rev-list", branch, "--"], cwd=git_dir, capture_output=True,
                         text=True, check=False)  # fmt: skip
    return out.stdout.split()


def gitops_commits() -> list[str]:
    from django.conf import settings

    owner, _, name = str(settings.PAVED_GITOPS_REPO).partition("/")
    return commits(owner, name)


def template_doc(name: str, steps: list[dict[str, Any]], **annotations: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "kind": "Template",
            "metadata": {"name": name, "title": name, "annotations": annotations},
            "spec": {"owner": "group:default/team-payments", "type": "service",
                     "parameters": [{"title": "Go", "properties": {"go": {"type": "string"}}}],
                     "steps": steps},
        },
        sort_keys=False,
    )  # fmt: skip


def register(client: Client, location: str) -> Any:
    """The Register page, confirmed."""
    return client.post("/catalog/register/", {"location": location, "action": "confirm"})


def start_in_wizard(client: Client, ref: str, values: dict[str, Any] | None = None) -> Any:
    """Create on the wizard's last page, as a person clicking through it."""
    namespace, name = ref.split(":", 1)[1].split("/")
    return client.post(
        f"/create/{namespace}/{name}/",
        {"state": json.dumps(values or {"go": "x"}), "page": "0", "action": "create"},
    )


def last_run() -> Run | None:
    return Run.objects.order_by("-pk").first()


def entity(ref: str) -> Entity | None:
    return Entity.objects.filter(ref=ref).first()


def attempt(client: Client, ref: str, values: dict[str, Any] | None = None) -> tuple[str, str]:
    """Create through the wizard, as the attacker would, and follow the run to its end.
    Returns ("refused at create", page text) when Create said no and no run started, else
    (the run's final status, its error)."""
    from runs.models import Run
    from tests.conftest import wait_for

    before = last_run()
    response = start_in_wizard(client, ref, values)
    run = last_run()
    if run is None or (before is not None and run.pk == before.pk):
        assert response.status_code == 422, response.status_code
        return "refused at create", response.content.decode()
    done = wait_for(lambda: (r := Run.objects.get(pk=run.pk)).is_finished and r, timeout=60)
    return str(done.status), done.error
