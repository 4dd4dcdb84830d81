"""A small template with two versions, scaffolded for real on the local git host."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import User

from portal.providers import git_host
from portal.providers.base import RepoRef
from runs.models import Run, StepStatus
from runs.runner import advance_run, execute_step
from scaffolder.models import ServiceProvenance, TemplateVersion
from scaffolder.services import save_template_file, start_template_run

TEMPLATE = """\
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: tiny-service
  title: Tiny service
  annotations: {annotations}
spec:
  owner: group:default/platform-team
  type: service
  parameters:
    - title: About
      required: [name, owner, repoUrl]
      properties:
        name: {{type: string}}
        owner: {{type: string}}
        repoUrl: {{type: string}}
{extra}
  steps:
    - id: fetch
      name: Render
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{{{ parameters.name }}}}
          owner: ${{{{ parameters.owner }}}}
          region: ${{{{ parameters.region | default('eu', true) }}}}
    - id: publish
      name: Create the repository
      action: publish:git
      input:
        repoUrl: ${{{{ parameters.repoUrl }}}}
        defaultBranch: main
{more_steps}
"""

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: ${{ values.owner }}
"""

VERSION_A = {
    "catalog-info.yaml": CATALOG,
    "README.md": "# ${{ values.name }}\n\nMade from the tiny template.\n",
    "app.py": "VERSION = 1\n",
    "setup.cfg": "[metadata]\nname = ${{ values.name }}\n",
    "old.txt": "to be removed by the template\n",
    "config.yaml": "port: 8000\nlog: info\nregion: ${{ values.region }}\n",
}

VERSION_B = {
    "catalog-info.yaml": CATALOG,
    "README.md": "# ${{ values.name }}\n\nMade from the tiny template.\n",
    "app.py": "VERSION = 2\n",
    "setup.cfg": "[metadata]\nname = ${{ values.name }}\nversion = 2\n",
    "Dockerfile": "FROM python:3.13-slim\n",
    "config.yaml": "port: 9000\nlog: info\nregion: ${{ values.region }}\n",
}


def write_template(
    folder: Path,
    files: dict[str, str],
    *,
    changelog: str = "",
    extra: str = "",
    more_steps: str = "",
) -> TemplateVersion:
    """(Re)write the template folder and save it: a new version when anything changed."""
    skeleton = folder / "skeleton"
    if skeleton.exists():
        for path in sorted(skeleton.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    for rel, text in files.items():
        (skeleton / rel).parent.mkdir(parents=True, exist_ok=True)
        (skeleton / rel).write_text(text)
    annotations = "{}" if not changelog else "{'paved.dev/changelog': '" + changelog + "'}"
    (folder / "template.yaml").write_text(
        TEMPLATE.format(annotations=annotations, extra=extra, more_steps=more_steps)
    )
    return save_template_file(folder / "template.yaml")


def drive(run: Run) -> Run:
    """Execute the run's steps in this process, as a worker would."""
    for _ in range(30):
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            return run
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        execute_step(step.pk)
    raise AssertionError("run did not finish")


def scaffold(version: TemplateVersion, actor: User, name: str) -> ServiceProvenance:
    values = {
        "name": name,
        "owner": "group:default/team-orders",
        "repoUrl": f"localhost?owner=team-orders&repo={name}",
    }
    run = drive(start_template_run(version=version, values=values, actor=actor))
    assert run.status == "succeeded", (run.error, list(run.steps.values_list("key", "error")))
    return ServiceProvenance.objects.get(repository=f"team-orders/{name}")


def repo(name: str) -> RepoRef:
    found = git_host().get_repository("team-orders", name)
    assert found is not None
    return found


def tree(ref_repo: RepoRef, ref: str) -> dict[str, str]:
    host = git_host()
    return {
        path: (host.read_file(ref_repo, path, ref=ref) or b"").decode()
        for path in host.list_files(ref_repo, ref=ref)
    }
