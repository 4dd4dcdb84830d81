"""Run as `manage.py shell` in a web process of its own (its own broker URL): sign a user in with
Django's test client, make the requests given as JSON on stdin, print what came back as JSON."""

from __future__ import annotations

import json
import sys

from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()
plan = json.loads(sys.stdin.readline())
client = Client(raise_request_exception=False)
client.force_login(User.objects.get(username=plan["user"]))
answers = []
for method, path, data in plan["requests"]:
    response = client.post(path, data) if method == "POST" else client.get(path)
    answers.append({
        "status": response.status_code,
        "location": response.get("Location", ""),
        "body": response.content.decode(errors="replace"),
        "messages": [str(m) for m in get_messages(response.wsgi_request)],
    })  # fmt: skip
print("ANSWERS " + json.dumps(answers))
