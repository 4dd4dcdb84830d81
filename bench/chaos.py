"""The chaos trial: golden-path runs on the production stack while workers are killed and the
broker and the database go away, then an exactly-once check of every run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paved python bench/chaos.py \\
        [--runs 100] [--kills 100] [--broker-cuts 2] [--db-cuts 2] [--workers 2]

What it sets up, all of its own: a throw-away PostgreSQL database (created and dropped here), a
`redis-server` on a free loopback port (the broker), a data directory (local git repositories,
the GitOps repository, workspaces), a loopback TCP proxy in front of PostgreSQL that the chaos
cuts, `--workers` Celery workers (threads pool, each in its own process group, restarted by a
supervisor thread as Kubernetes would) and one beat, with the recovery timings shortened
(`--lease`, `--recovery-interval`). This process plays the web: it starts the runs with
`start_template_run` (direct database connection, the private broker).

While the runs go, the chaos thread SIGKILLs a random worker's process group `--kills` times at
random moments, stops the broker `--broker-cuts` times (it comes back empty: no persistence) and
cuts the database link `--db-cuts` times. Then, for every run: status, step states, the
repository's commits, the GitOps repository's commits per object, the catalog entity and its
location, the log lines, leftovers of repository creations. One line per check, the
recovery-latency figures (SIGKILL to "Taking over step" of each step the killed worker held)
and a verdict. Exit status 0 only with zero violations.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.tcp_proxy import TcpProxy  # noqa: E402

# A ready worker picking the re-sent message up (the time no worker was ready is not counted).
PICKUP_SLACK_SECONDS = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Redis:
    """A redis-server of our own, without persistence: a restart loses every message."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is needed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Process:
    """A Celery worker or beat in a process group of its own (so a kill takes its children)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.argv, self.env, self.logs = name, argv, env, logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        # (ready, gone) wall-clock times of each life of the process that reached "ready"
        self.up: list[tuple[float, float | None]] = []

    @property
    def log_path(self) -> Path:
        return self.logs / f"{self.name}-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *self.argv],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        pid = self.proc.pid
        os.killpg(pid, signal.SIGKILL)
        self.proc.wait(10)
        self.gone()
        return pid

    def watch(self) -> None:
        """Note when this life became ready (its log says so) or ended."""
        if self.proc is not None and self.proc.poll() is not None:
            self.gone()
        elif (
            (not self.up or self.up[-1][1] is not None)
            and self.proc is not None
            and " ready." in self.log_path.read_text(errors="replace")
        ):
            self.up.append((time.time(), None))

    def gone(self) -> None:
        if self.up and self.up[-1][1] is None:
            self.up[-1] = (self.up[-1][0], time.time())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Kill:
    at: float
    worker: str
    held: list[tuple[int, int]] = field(default_factory=list)  # (step id, attempt)


@dataclass
class Chaos:
    kills: list[Kill] = field(default_factory=list)
    # (start, end) wall-clock times of each outage
    broker_cuts: list[tuple[float, float]] = field(default_factory=list)
    db_cuts: list[tuple[float, float]] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--broker-cuts", type=int, default=2)
    parser.add_argument("--db-cuts", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="threads per worker")
    parser.add_argument("--rate", type=float, default=1.0, help="runs started per second")
    parser.add_argument("--lease", type=int, default=5, help="PAVED_STEP_LEASE_SECONDS")
    parser.add_argument("--recovery-interval", type=int, default=2)
    parser.add_argument("--outage-seconds", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    workdir = Path(tempfile.mkdtemp(prefix="paved-chaos-"))
    logs = workdir / "logs"
    logs.mkdir()
    redis = Redis(workdir)
    redis.start()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PAVED_DATA_DIR": str(workdir / "data"),
            "CELERY_BROKER_URL": redis.url,
            "PAVED_GIT_PROVIDER": "local",
            "PAVED_DEPLOY_PROVIDER": "gitops",
            "PAVED_CLUSTER_PROVIDER": "gitops",
            "PAVED_STEP_LEASE_SECONDS": str(args.lease),
            "PAVED_RECOVERY_INTERVAL": str(args.recovery_interval),
            "PAVED_STEP_REQUEUE_SECONDS": str(args.lease),
            "PAVED_STEP_RETRY_BACKOFF_SECONDS": "1",
            "PAVED_STEP_MAX_ATTEMPTS": "50",  # kills count as attempts; this trial kills often
        }
    )
    print(f"chaos: seed {seed}, work directory {workdir}", flush=True)

    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/chaos.py needs PostgreSQL: set DATABASE_URL")
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"paved_chaos_{os.getpid()}"
    # Stopped with Ctrl-C or SIGTERM: still stop the processes and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    processes: list[Process] = []
    proxy: TcpProxy | None = None
    try:
        db = connection.settings_dict
        proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
        user = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{user}127.0.0.1:{proxy.port}/{db['NAME']}",
        }
        return trial(args, rng, env, logs, redis, proxy, processes)
    finally:
        for process in processes:
            process.stop()
        if proxy is not None:
            proxy.close()
        redis.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def trial(
    args: argparse.Namespace,
    rng: random.Random,
    env: dict[str, str],
    logs: Path,
    redis: Redis,
    proxy: TcpProxy,
    processes: list[Process],
) -> int:
    from django.contrib.auth.models import User
    from django.db import connection

    from catalog.models import Entity, Relation
    from runs.models import Run, Step, StepStatus
    from scaffolder.demo import load_builtin_templates
    from scaffolder.models import TemplateVersion
    from scaffolder.services import start_template_run

    load_builtin_templates()
    team, _ = Entity.objects.get_or_create(
        ref="group:default/team-orders", defaults={"kind": "Group", "name": "team-orders"}
    )
    # A member of the owning team: runs act with the requester's authority.
    owner = User.objects.create_user("chaos", "chaos@example.com")
    person = Entity.objects.create(kind="User", name="chaos", user=owner,
                                   spec={"profile": {"email": owner.email}})  # fmt: skip
    Relation.objects.create(source=person, type="memberOf", target_ref=team.ref, target=team)
    version = TemplateVersion.objects.get(ref="template:default/python-service")

    workers = [
        Process(
            f"worker{i}",
            [
                "worker",
                "--pool=threads",
                f"--concurrency={args.concurrency}",
                "-Q",
                "default,provisioning",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                f"chaos{i}@%h",
            ],
            env,
            logs,
        )
        for i in range(args.workers)
    ]
    beat = Process(
        "beat", ["beat", "--loglevel=INFO", "-s", str(logs / "beat-schedule")], env, logs
    )
    processes.extend([*workers, beat])
    for process in processes:
        process.start()

    done = threading.Event()
    chaos = Chaos()

    def supervise() -> None:  # Kubernetes: a worker that exits is started again
        while not done.is_set():
            for process in processes:
                process.watch()
                if not process.alive:
                    process.start()
            time.sleep(0.2)

    names = [f"chaos-{i:03d}" for i in range(args.runs)]
    run_ids: dict[str, int] = {}
    started_at = time.monotonic()

    def start_runs() -> None:
        for name in names:
            values = {
                "name": name,
                "owner": "group:default/team-orders",
                "environment": "dev",
                "repoUrl": f"localhost?owner=team-orders&repo={name}",
            }
            run = start_template_run(version=version, values=values, actor=owner)
            run_ids[name] = run.pk
            time.sleep(1 / args.rate)

    def unleash() -> None:
        try:
            _unleash()
        finally:
            connection.close()  # this thread's own, so that the database can be dropped

    def _unleash() -> None:
        # Spread the faults over the time the runs take to start, plus a little after.
        span = args.runs / args.rate + 20
        events = [("kill", rng.uniform(2, span)) for _ in range(args.kills)]
        events += [("broker", rng.uniform(5, span)) for _ in range(args.broker_cuts)]
        events += [("db", rng.uniform(5, span)) for _ in range(args.db_cuts)]
        for kind, at in sorted(events, key=lambda e: e[1]):
            delay = started_at + at - time.monotonic()
            if delay > 0 and done.wait(delay):
                return
            if kind == "kill":
                target = busy_worker() or rng.choice(workers)
                pid = target.kill()
                if pid is not None:
                    kill = Kill(at=time.time(), worker=target.name)
                    kill.held = list(
                        Step.objects.filter(
                            status=StepStatus.RUNNING, claimed_by__contains=f":{pid}:"
                        ).values_list("pk", "attempt")
                    )
                    chaos.kills.append(kill)
            elif kind == "broker":
                began = time.time()
                redis.stop()
                time.sleep(args.outage_seconds)
                redis.start()
                chaos.broker_cuts.append((began, time.time()))
            else:
                began = time.time()
                proxy.cut()
                time.sleep(args.outage_seconds)
                proxy.restore()
                chaos.db_cuts.append((began, time.time()))

    def busy_worker() -> Process | None:
        """A worker in the middle of a step, if one gets one within 2 s: kills land mid-step."""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            by_pid = {w.proc.pid: w for w in workers if w.alive and w.proc is not None}
            for claimed_by in Step.objects.filter(status=StepStatus.RUNNING).values_list(
                "claimed_by", flat=True
            ):
                pid = int(claimed_by.split(":")[1]) if claimed_by.count(":") == 2 else 0
                if pid in by_pid:
                    return by_pid[pid]
            time.sleep(0.05)
        return None

    threading.Thread(target=supervise, daemon=True).start()
    chaos_thread = threading.Thread(target=unleash, daemon=True)
    chaos_thread.start()
    start_runs()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        unfinished = Run.objects.filter(pk__in=run_ids.values(), finished_at__isnull=True)
        if not unfinished.exists() and not chaos_thread.is_alive():
            break
        time.sleep(1)
    done.set()
    chaos_thread.join(timeout=args.outage_seconds + 5)
    elapsed = time.monotonic() - started_at
    print(
        f"chaos: {len(run_ids)} runs, {len(chaos.kills)} kills, {len(chaos.broker_cuts)} broker "
        f"outages, {len(chaos.db_cuts)} database outages in {elapsed:.0f} s",
        flush=True,
    )
    return verify(args, run_ids, chaos, logs, workers)


def _git(git_dir: Path, *argv: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *argv], capture_output=True, text=True, timeout=30
    ).stdout.strip()


def verify(
    args: argparse.Namespace,
    run_ids: dict[str, int],
    chaos: Chaos,
    logs: Path,
    workers: list[Process],
) -> int:
    from django.conf import settings

    from catalog.models import Entity, Location
    from runs.models import Run, RunLogLine, RunStatus, StepStatus

    root = Path(settings.PAVED_GIT_LOCAL_ROOT)
    gitops = root / "platform" / "gitops.git"
    checks: dict[str, list[str]] = {}

    def check(label: str, name: str, ok: bool) -> None:
        checks.setdefault(label, [])
        if not ok:
            checks[label].append(name)

    for name, pk in sorted(run_ids.items()):
        run = Run.objects.get(pk=pk)
        steps = {s.key: s for s in run.steps.all()}
        check("run succeeded", name, run.status == RunStatus.SUCCEEDED)
        oncall = sorted(s.status for k, s in steps.items() if k.startswith("oncall-"))
        others = [s.status for k, s in steps.items() if not k.startswith("oncall-")]
        check(
            "step states (each step once; one on-call step, two skipped)",
            name,
            oncall == [StepStatus.SKIPPED, StepStatus.SKIPPED, StepStatus.SUCCEEDED]
            and all(s == StepStatus.SUCCEEDED for s in others),
        )
        repo = root / "team-orders" / f"{name}.git"
        check(
            "repository: exactly one commit on main",
            name,
            _git(repo, "rev-list", "--count", "main") == "1",
        )
        publish = steps.get("publish")
        check(
            "repository: the commit is the one publish recorded",
            name,
            publish is not None
            and publish.outputs.get("commitHash") == _git(repo, "rev-parse", "main"),
        )
        touching = _git(gitops, "log", "--format=%s", "main", "--", f"*{name}*").splitlines()
        check(
            "GitOps: one namespace commit and one Argo CD application commit",
            name,
            len(touching) == 2
            and sum("namespace" in t.lower() for t in touching) == 1
            and sum("argo cd application" in t.lower() for t in touching) == 1,
        )
        check(
            "catalog: one component entity and one location",
            name,
            Entity.objects.filter(kind="Component", name=name).count() == 1
            and Location.objects.filter(target__contains=f"/{name}/").count() == 1,
        )
        lines = list(
            RunLogLine.objects.filter(run=run).order_by("seq").values_list("seq", "message")
        )
        messages = [m for _, m in lines]
        check(
            "log: lines numbered 1..n without gaps or repeats",
            name,
            [s for s, _ in lines] == list(range(1, len(lines) + 1)),
        )
        check(
            "log: pushed once, finished once",
            name,
            sum(m.startswith("Pushed ") for m in messages) == 1
            and messages.count("Run finished: every step succeeded.") == 1,
        )
    leftovers = sorted(str(p.relative_to(root)) for p in root.glob("*/.*"))
    checks["git host: no unfinished repository creations left"] = leftovers
    repos = sorted(p.name[:-4] for p in (root / "team-orders").glob("*.git"))
    checks["git host: exactly the runs' repositories"] = sorted(set(repos) ^ set(run_ids))

    violations = 0
    for label, failed in checks.items():
        violations += len(failed)
        shown = ", ".join(failed[:5]) + (" …" if len(failed) > 5 else "")
        verdict = "ok  " if not failed else "FAIL"
        print(f"{verdict} {label}" + (f": {len(failed)} violation(s): {shown}" if failed else ""))

    takeovers = takeover_latencies(chaos, workers)
    latencies = [latency for latency, _, _ in takeovers]
    idle = [idle for _, idle, _ in takeovers]
    calm = [latency - idle for latency, idle, outage in takeovers if not outage]
    bound = args.lease + args.recovery_interval + PICKUP_SLACK_SECONDS
    if latencies:
        print(
            f"recovery latency (SIGKILL -> 'Taking over step'), {len(latencies)} step(s): "
            f"{_figures(latencies)} (lease {args.lease} s + recovery interval "
            f"{args.recovery_interval} s); {len(latencies) - len(calm)} of them overlapped a "
            f"broker or database outage"
        )
        print(
            f"  time with no worker ready (all killed or starting) inside those windows: "
            f"{_figures(idle)}"
        )
        if calm:
            print(f"  without outages, less the time no worker was ready: {_figures(calm)}")
        late = [f"{x:.1f} s" for x in calm if x > bound]
        violations += len(late)
        print(
            ("ok  " if not late else "FAIL")
            + " every takeover outside outages, while a worker was ready, within lease +"
            + f" recovery interval + {PICKUP_SLACK_SECONDS:.0f} s pick-up"
            + (f": {', '.join(late)}" if late else "")
        )
    else:
        print("recovery latency: no kill landed while a step was running")
    held = sum(len(k.held) for k in chaos.kills)
    print(
        f"kills that caught a step mid-work: {sum(1 for k in chaos.kills if k.held)} "
        f"of {len(chaos.kills)} ({held} step(s))"
    )
    print(
        f"VERDICT: {'PASS' if violations == 0 else 'FAIL'} — {violations} violation(s) "
        f"in {len(run_ids)} runs (logs: {logs})"
    )
    return 0 if violations == 0 else 1


def _figures(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.1f} s, p95 {p95:.1f} s, max {ordered[-1]:.1f} s"


def _no_worker_ready(start: float, end: float, workers: list[Process]) -> float:
    """Seconds of [start, end] during which no worker was ready to take work."""
    lives = sorted((max(a, start), min(b or end, end)) for w in workers for a, b in w.up)
    covered, cursor = 0.0, start
    for a, b in lives:
        if b <= cursor:
            continue
        covered += b - max(a, cursor)
        cursor = b
    return max(0.0, (end - start) - covered)


def takeover_latencies(chaos: Chaos, workers: list[Process]) -> list[tuple[float, float, bool]]:
    """For each step a killed worker held: seconds from the kill to the line of its takeover,
    how many of them no worker was ready (all killed or starting), and whether a broker or
    database outage fell in between (nobody can take over then)."""
    from runs.models import RunLogLine

    outages = chaos.broker_cuts + chaos.db_cuts
    latencies = []
    for kill in chaos.kills:
        for step_id, _attempt in kill.held:
            line = (
                RunLogLine.objects.filter(
                    step_id=step_id,
                    message__startswith="Taking over step ",
                    created_at__gte=_aware(kill.at),
                )
                .order_by("seq")
                .first()
            )
            if line is not None:
                taken = line.created_at.timestamp()
                overlapped = any(start < taken and end > kill.at for start, end in outages)
                idle = _no_worker_ready(kill.at, taken, workers)
                latencies.append((taken - kill.at, idle, overlapped))
    return latencies


def _aware(timestamp: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC)


if __name__ == "__main__":
    sys.exit(main())
