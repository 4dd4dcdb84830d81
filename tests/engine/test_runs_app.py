"""The engine moved from the scaffolder into its own app without breaking what was stored or
queued: the same tables, the same task names."""

from __future__ import annotations

import pytest
from celery import Task
from django.apps import apps
from django.conf import settings
from django.db import connection

from runs import tasks

QUEUED_NAMES: dict[str, Task] = {
    "scaffolder.advance_run": tasks.advance_run,
    "scaffolder.execute_step": tasks.execute_step,
    "scaffolder.recover_stalled_steps": tasks.recover_stalled_steps,
    "scaffolder.collect_workspaces": tasks.collect_workspaces,
    "scaffolder.empty_workspace_trash": tasks.empty_workspace_trash,
    "scaffolder.purge_run_secrets": tasks.purge_run_secrets,
}


def test_tasks_keep_the_names_queued_messages_carry() -> None:
    from portal.celery import app

    for name, task in QUEUED_NAMES.items():
        assert task.name == name
        assert app.tasks[name].__module__ == "runs.tasks"
    # The beat jobs and the queue route name the engine's tasks by these names too.
    scheduled = {str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    routed = {str(name) for name in settings.CELERY_TASK_ROUTES}
    engine = {name for name in scheduled | routed if "scaffolder." in name}
    assert engine
    assert engine <= set(QUEUED_NAMES)


@pytest.mark.django_db
def test_run_tables_keep_their_names() -> None:
    tables = set(connection.introspection.table_names())
    models = list(apps.get_app_config("runs").get_models())
    assert {m.__name__ for m in models} == {
        "Run", "Step", "RunSecret", "RunLogLine", "ProvisionedResource"
    }  # fmt: skip
    for model in models:
        assert model._meta.db_table == f"scaffolder_{model._meta.model_name}"
        assert model._meta.db_table in tables
