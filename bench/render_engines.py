"""Rendering speed of the golden-path skeleton: Paved's Python renderer against real Nunjucks
3.2.4 in an embedded V8 (the option weighed in docs/scaffolder.md, "Rendering fidelity").

    python bench/render_engines.py [--rounds 20] [--nunjucks PATH/TO/nunjucks/browser/nunjucks.js]

The V8 half needs the `mini-racer` package and Nunjucks's browser bundle; without them only the
Python half runs. Each round renders every file name and file of the python-service skeleton
with the values a golden-path run gives it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from scaffolder.expressions import render_string  # noqa: E402

SKELETON = ROOT / "scaffolder/templates_builtin/python-service/skeleton"
VALUES = {
    "name": "orders-api",
    "owner": "group:default/team-orders",
    "description": "Orders API",
    "environment": "dev",
    "repoUrl": "localhost?owner=team-orders&repo=orders-api",
    "destination": {"host": "localhost", "owner": "team-orders", "repo": "orders-api"},
    "host": "orders-api.dev.example.com",
    "port": 8000,
    "team": "team-orders",
    "system": "",
    "systemName": "",
    "lifecycle": "experimental",
    "canary": True,
    "secretStore": "vault",
    "gateway": "gateway",
    "rolloutsGatewayPlugin": "",
    "prometheusUrl": "http://prometheus:9090",
    "onCall": "team",
    "onCallUrl": "",
    "onCallAnnotation": {},
    "onCallGroup": "group:default/team-orders",
    "template": "bench",
}


def _files() -> list[tuple[str, str]]:
    return [
        (str(p.relative_to(SKELETON)), p.read_text(encoding="utf-8"))
        for p in sorted(SKELETON.rglob("*"))
        # .github is copied without templating: its `${{ }}` is GitHub Actions syntax; a
        # tool's cache (ruff writes one beside the skeleton's pyproject.toml) is not skeleton.
        if p.is_file() and ".github" not in p.parts and ".ruff_cache" not in p.parts
    ]


def bench_python(files: list[tuple[str, str]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for rel, text in files:
            render_string(rel, {"values": VALUES})
            render_string(text, {"values": VALUES})
        times.append(time.perf_counter() - started)
    return times


_SETUP = """
var renderer = (function () {
  var module = { exports: {} }; var exports = module.exports; var process = { env: {} };
  %s
  var env = module.exports.configure({ autoescape: false,
    tags: { variableStart: '${{', variableEnd: '}}' } });
  return function (str, values) { return env.renderString(str, JSON.parse(values)); };
})();
"""


def bench_v8(
    files: list[tuple[str, str]], rounds: int, bundle: Path
) -> tuple[float, list[float], int]:
    from py_mini_racer import JSEvalException, MiniRacer

    started = time.perf_counter()
    ctx = MiniRacer()
    ctx.set_hard_memory_limit(128 * 1024 * 1024)
    ctx.eval(_SETUP % bundle.read_text(encoding="utf-8"), timeout_sec=10)
    startup = time.perf_counter() - started
    values = json.dumps({"values": VALUES})
    times = []
    failed = 0
    for _ in range(rounds):
        failed = 0
        started = time.perf_counter()
        for rel, text in files:
            ctx.call("renderer", rel, values, timeout_sec=1)
            try:
                ctx.call("renderer", text, values, timeout_sec=1)
            except JSEvalException:
                # Paved's own skeleton uses Jinja-only calls (`dict.items()`) Nunjucks lacks.
                failed += 1
        times.append(time.perf_counter() - started)
    return startup, times, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--nunjucks", type=Path)
    args = parser.parse_args()
    files = _files()
    bench_python(files, 2)  # warm-up: compile caches, as a worker has after its first run
    py = bench_python(files, args.rounds)
    print(f"{len(files)} skeleton files, {args.rounds} rounds, median per skeleton:")
    print(f"  Python renderer:         {statistics.median(py) * 1000:8.2f} ms")
    if args.nunjucks is None:
        print("  (V8 + Nunjucks skipped: pass --nunjucks PATH/TO/browser/nunjucks.js)")
        return
    startup, v8, failed = bench_v8(files, args.rounds, args.nunjucks)
    print(
        f"  V8 + Nunjucks 3.2.4:     {statistics.median(v8) * 1000:8.2f} ms ({failed} file(s) failed)"
    )
    print(f"  V8 context + bundle load: {startup * 1000:7.2f} ms (once per renderer)")


if __name__ == "__main__":
    main()
