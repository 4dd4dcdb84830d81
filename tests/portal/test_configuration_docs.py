"""Every environment variable portal/settings.py reads is documented in docs/configuration.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "portal" / "settings.py"
DOCS = ROOT / "docs" / "configuration.md"
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_list", "env_secret"}


def _name(node: ast.expr) -> str:
    """Dotted name of a call target: `os.environ.get`, `env_str`, ..."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def variables_read_by(source: str) -> dict[str, bool]:
    """Variable name -> whether it is a secret (then NAME_FILE works too)."""
    found: dict[str, bool] = {}
    for node in ast.walk(ast.parse(source)):
        key: ast.expr | None = None
        secret = False
        if isinstance(node, ast.Call):
            target = _name(node.func)
            if target in ENV_HELPERS or target in {"os.environ.get", "os.getenv", "environ.get"}:
                key = node.args[0] if node.args else None
                secret = target == "env_secret"
        elif isinstance(node, ast.Subscript) and _name(node.value) in {"os.environ", "environ"}:
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found[key.value] = found.get(key.value, False) or secret
        elif key is not None:
            raise AssertionError(
                f"settings.py line {getattr(node, 'lineno', '?')}: read environment variables by literal name, "
                "so that this test (and readers) can find them"
            )
    return found


def documented() -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOCS.read_text(encoding="utf-8")))


def test_parser_finds_every_kind_of_read() -> None:
    source = (
        "import os\nA = env_str('PAVED_A', '')\nB = env_secret('PAVED_B')\n"
        "C = os.environ.get('PAVED_C')\nD = os.environ['PAVED_D']\n"
        "E = env_int(\n    'PAVED_E', 1\n)\nF = os.getenv('PAVED_F')\n"
    )
    assert variables_read_by(source) == {
        "PAVED_A": False, "PAVED_B": True, "PAVED_C": False,
        "PAVED_D": False, "PAVED_E": False, "PAVED_F": False,
    }  # fmt: skip


def test_settings_reads_a_sane_number_of_variables() -> None:
    read = variables_read_by(SETTINGS.read_text(encoding="utf-8"))
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PAVED_LOCAL_LOGIN"):
        assert name in read


def test_every_environment_variable_is_documented() -> None:
    read = variables_read_by(SETTINGS.read_text(encoding="utf-8"))
    docs = documented()
    missing = sorted(name for name in read if name not in docs)
    assert not missing, (
        f"portal/settings.py reads {', '.join(missing)} but docs/configuration.md does not "
        "document them: add a row (`NAME` | default | what it does) to the right table."
    )


def test_secrets_say_they_can_come_from_a_file() -> None:
    read = variables_read_by(SETTINGS.read_text(encoding="utf-8"))
    text = DOCS.read_text(encoding="utf-8")
    for name, secret in read.items():
        if secret:
            row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
            assert "(secret)" in row, f"{name} is read with env_secret; mark its row (secret)"


def test_documented_paved_variables_exist() -> None:
    """A documented PAVED_* variable that nothing reads any more misleads operators."""
    read = set(variables_read_by(SETTINGS.read_text(encoding="utf-8")))
    source = "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for pattern in ("*/**/*.py", "Makefile", "Procfile*", "deploy/**/*", "Dockerfile", "bin/*")
        for path in ROOT.glob(pattern)
        if path.is_file() and ".venv" not in path.parts
    )
    stale = []
    for name in documented():
        if not name.startswith("PAVED_") or name in read:
            continue
        base = name.removesuffix("_FILE")
        if name.endswith("_FILE") and base in read:
            continue  # NAME_FILE of a secret
        if name not in source:
            stale.append(name)
    assert not stale, f"docs/configuration.md documents variables nothing reads: {sorted(stale)}"
