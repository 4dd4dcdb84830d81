"""JSONata (the `jsonata-python` package) in a child process with hard limits.

A template author writes the expression, and JSONata has recursion and higher-order functions, so
one expression could burn the worker's CPU or memory. The child gets RLIMIT_CPU, RLIMIT_AS and a
wall-clock timeout; when it breaches one it is killed and the step fails with a plain message.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from typing import Any

from django.conf import settings

from portal.providers.base import PermanentProviderError

_CHILD = """
import json, sys
import jsonata
request = json.load(sys.stdin)
try:
    result = jsonata.Jsonata(request["expression"]).evaluate(request["data"])
except Exception as exc:
    json.dump({"error": str(exc) or type(exc).__name__}, sys.stdout)
else:
    json.dump({"result": result}, sys.stdout)
"""


def _limits() -> tuple[float, int]:
    seconds = int(getattr(settings, "PAVED_EXPRESSION_TIMEOUT_MS", 1000)) / 1000
    return max(seconds * 5, 2.0), 512 * 1024 * 1024


def evaluate(expression: str, data: Any, action: str) -> Any:
    """The value of `expression` over `data`, or PermanentProviderError saying why not."""
    seconds, memory = _limits()

    def restrict() -> None:  # runs in the child before it starts Python
        cpu = int(seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD],
            input=json.dumps({"expression": expression, "data": data}),
            capture_output=True,
            text=True,
            timeout=seconds + 2,  # the interpreter's own start-up is not the expression's time
            preexec_fn=restrict,
        )
    except subprocess.TimeoutExpired:
        raise PermanentProviderError(
            f"{action}: the JSONata expression ran longer than {seconds:g} s and was stopped"
        ) from None
    if done.returncode != 0 or not done.stdout:
        raise PermanentProviderError(
            f"{action}: the JSONata expression went over its CPU or memory limit and was stopped"
        )
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise PermanentProviderError(f"{action}: invalid JSONata expression: {answer['error']}")
    return answer["result"]
