"""Demo data: the shipped templates (golden path and docs site) into the catalog."""

from __future__ import annotations

from pathlib import Path

from portal.demo import register_demo_loader

BUILTIN_DIR = Path(__file__).resolve().parent / "templates_builtin"


def builtin_template_files() -> list[Path]:
    return sorted(BUILTIN_DIR.glob("*/template.yaml"))


def load_builtin_templates() -> str:
    """Idempotent: an unchanged template keeps its version; a changed one gets a new one."""
    from scaffolder.services import save_template_file

    versions = [save_template_file(path) for path in builtin_template_files()]
    return ", ".join(f"{v.ref} v{v.version}" for v in versions)


register_demo_loader("scaffolder", 30, load_builtin_templates)
