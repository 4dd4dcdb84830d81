"""Deploying Paved: the Kubernetes manifests are consistent, and the container's commands work.

Docker is not available here, so the image is not built; its commands are run directly.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
ENTRYPOINT = ROOT / "bin" / "paved-container"


def load_manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for doc in load_manifests():
        if doc["kind"] == kind:
            found[doc["metadata"]["name"]] = doc
    return found


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def workloads() -> dict[str, dict[str, Any]]:
    return {**by_kind("Deployment"), **by_kind("Job")}


def test_every_manifest_parses_and_kustomization_lists_them() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    for doc in load_manifests():
        assert {"apiVersion", "kind", "metadata"} <= doc.keys()


def test_web_probes_health_and_readiness() -> None:
    web = by_kind("Deployment")["paved-web"]
    (container,) = pod_spec(web)["containers"]
    assert container["args"] == ["web"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = container["ports"][0]
    assert port["containerPort"] == 8000
    service = by_kind("Service")["paved-web"]
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_exactly_one_beat_even_during_rollout() -> None:
    beat = by_kind("Deployment")["paved-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert pod_spec(beat)["containers"][0]["args"] == ["beat"]
    beats = [
        name
        for name, w in workloads().items()
        if any(c.get("args") == ["beat"] for c in pod_spec(w)["containers"])
    ]
    assert beats == ["paved-beat"]


def test_workers_cover_both_queues() -> None:
    queues = set()
    for workload in by_kind("Deployment").values():
        for container in pod_spec(workload)["containers"]:
            if container.get("args") == ["worker"]:
                env = {e["name"]: e.get("value") for e in container.get("env", [])}
                queues.update(env["PAVED_WORKER_QUEUES"].split(","))
    assert queues == {"default", "provisioning"}


def test_migrations_run_as_a_job_and_web_waits_for_them() -> None:
    job = by_kind("Job")["paved-migrate"]
    assert pod_spec(job)["containers"][0]["args"] == ["migrate"]
    init = pod_spec(by_kind("Deployment")["paved-web"])["initContainers"][0]
    assert "migrate --check" in " ".join(init["args"])


def test_every_container_gets_database_broker_and_secret_key() -> None:
    configmaps = by_kind("ConfigMap")
    secrets = by_kind("Secret")
    for name, workload in workloads().items():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == "paved", name
            env_names = {e["name"] for e in container.get("env", [])}
            from_configmaps = {}
            for source in container.get("envFrom", []):
                cm = configmaps[source["configMapRef"]["name"]]  # must exist
                from_configmaps.update(cm["data"])
            assert {"DATABASE_URL", "CELERY_BROKER_URL"} <= env_names, (name, container["name"])
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], item
            key_file = from_configmaps["PAVED_SECRET_KEY_FILE"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            mount = mounts[str(Path(key_file).parent)]
            items = {i["path"] for i in volumes[mount]["secret"]["items"]}
            assert Path(key_file).name in items
            # The image's data directory is writable even with a read-only root filesystem.
            assert "/var/lib/paved" in mounts
            assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_dockerfile_shape() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split(None, 1)
        for line in text.splitlines()
        if line and not line.startswith((" ", "#")) and line.split(None, 1)[0].isupper()
    ]
    kinds = [i[0] for i in instructions]
    assert instructions[0] == ["FROM", "python:3.13-slim"]
    user = next(i[1] for i in instructions if i[0] == "USER")
    assert not user.startswith(("root", "0"))
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")
    assert "PAVED_MANIFEST_STATIC=true" in text
    assert "collectstatic" in text
    assert 'ENTRYPOINT ["/app/bin/paved-container"]' in text
    assert "pip install --no-compile ." in text  # dependencies come from pyproject.toml
    for copied in re.findall(r"^COPY (\S+) ", text, flags=re.M):
        assert (ROOT / copied).exists() or copied == ".", f"Dockerfile copies missing {copied}"


# --- the image's commands, run here --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def image_env(tmp_path: Path) -> dict[str, str]:
    """The image's environment (Dockerfile ENV), with a throwaway data dir and static root."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "PAVED_PYTHON": sys.executable,
        "PAVED_DATA_DIR": str(tmp_path / "data"),
        "PAVED_STATIC_ROOT": str(tmp_path / "staticfiles"),
        "PAVED_MANIFEST_STATIC": "true",
        "PAVED_SECRET_KEY": "test-only-" + "x" * 50,
        "PAVED_ALLOWED_HOSTS": "127.0.0.1",
        "PAVED_LOCAL_LOGIN": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _dockerfile_collectstatic(env: dict[str, str]) -> None:
    """Run the Dockerfile's collectstatic command line."""
    text = (ROOT / "Dockerfile").read_text()
    line = next(ln for ln in text.splitlines() if "manage.py collectstatic" in ln)
    argv = shlex.split(line.strip().rstrip("\\"))
    assert argv[:2] == ["python", "manage.py"]
    subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, env=env, check=True, timeout=120
    )  # fmt: skip


@pytest.fixture
def gunicorn(image_env: dict[str, str], tmp_path: Path, scratch_database_url: str) -> Iterator[str]:
    image_env["DATABASE_URL"] = scratch_database_url
    _dockerfile_collectstatic(image_env)
    # The migration Job's command (here against a new, empty database).
    subprocess.run([str(ENTRYPOINT), "migrate", "-v", "0"], env=image_env, check=True, timeout=180)
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [str(ENTRYPOINT), "web", "--workers", "1"],
        cwd=tmp_path,  # the entrypoint changes to the project directory itself
        env={**image_env, "PAVED_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a busy CI machine imports Django slowly
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                requests.get(f"{url}/healthz", timeout=15)
                break
            except requests.RequestException:
                time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        log.close()


def test_gunicorn_serves_health_and_hashed_static_files(gunicorn: str) -> None:
    health = requests.get(f"{gunicorn}/healthz", timeout=15)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    # An anonymous page redirects to sign-in; the sign-in page links hashed static files.
    page = requests.get(f"{gunicorn}/accounts/login/", timeout=15)
    assert page.status_code == 200
    css = re.search(r'href="(/static/paved/paved\.[0-9a-f]{12}\.css)"', page.text)
    assert css, "static files are not served from the manifest"
    static = requests.get(gunicorn + css.group(1), timeout=15)
    assert static.status_code == 200
    assert "max-age=315360000" in static.headers["Cache-Control"]


def test_entrypoint_runs_manage_commands(image_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(ENTRYPOINT), "manage", "check"],
        env=image_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
