"""Imported by a worker subprocess (PAVED_EXTRA_STEP_MODULES) to get the "test" providers."""

from tests.scaffolder.providers import register_test_providers

register_test_providers()
