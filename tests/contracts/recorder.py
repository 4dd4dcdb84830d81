"""Turn what the fakes recorded into exchanges and check them against the vendors' API
descriptions (tests/conftest.py runs this after every test that started a fake)."""

from __future__ import annotations

import json
from typing import Any

from tests.contracts.openapi import SPECS, Exchange, contract


def exchanges_of(fake: Any) -> list[Exchange]:
    found = []
    for request, response in list(fake.exchanges):
        if hasattr(request, "body") and isinstance(request.body, bytes):  # tests.fakes.http
            body = json.loads(request.body) if request.body else None
            found.append(Exchange(request.method, request.path, dict(request.query), body,
                                  response.status, response.payload))  # fmt: skip
        else:  # tests.fakes.json_server
            found.append(Exchange(request.method, request.path, dict(request.query),
                                  request.body, response.status, response.body))  # fmt: skip
    return found


def contract_problems(fake: Any) -> list[str]:
    vendor = getattr(fake, "contract", "")
    if not vendor or not (SPECS / f"{vendor}.json").exists():
        return []
    checker = contract(vendor)
    problems: list[str] = []
    for exchange in exchanges_of(fake):
        problems += checker.problems(exchange)
    return list(dict.fromkeys(problems))
