"""EAM as an operator installs it: the built wheel, in a new virtual environment, run from an
empty folder far from any checkout.

The wheel is built with ``pip wheel`` from a copy of the files a source distribution holds
(``pyproject.toml``, ``README.md``, ``eam/``), so nothing left in the checkout (a stale ``build/``,
an ``eam.egg-info``) can slip in. The new environment does not see this one's packages: the wheel
is installed with its dependencies, through this machine's own pip configuration (its indexes and
``find-links``), pinned to the versions the suite runs with, so a dependency missing from
``pyproject.toml`` fails here. About 20-40 s; one test uses the environment, so it is built once.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    shutil.copytree(ROOT / "eam", source / "eam", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path_factory.mktemp("wheels")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stderr
    (found,) = wheels.glob("eam-*.whl")
    return found


def _pins(path: Path) -> Path:
    """Constraints: every distribution of this environment at the version installed here."""
    lines = sorted(
        {f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions() if dist.metadata["Name"] != "eam"}
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment (no system site-packages) with the wheel installed; its ``bin``."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True, system_site_packages=False)
    pins = _pins(home / "pins.txt")
    result = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--constraint", str(pins), str(wheel)],
        capture_output=True, text=True, timeout=600, check=False, env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    return home / "bin"


def _clean_env(**environ: str) -> dict[str, str]:
    """This process's environment without EAM settings, virtualenv or import-path hints."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EAM_") and key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    env.update(environ)
    return env


def test_the_wheel_holds_the_policies_and_the_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"eam/policies/{name}" for name in ("catalogue.toml", "model.conf", "permissions.csv")}
    shipped |= {"eam/migrations/env.py", "eam/migrations/script.py.mako"}
    shipped |= {f"eam/migrations/versions/{script.name}" for script in (ROOT / "eam" / "migrations" / "versions").glob("*.py")}
    assert len(shipped) > 6
    assert shipped <= names, sorted(shipped - names)
    assert not {name for name in names if name.startswith(("tests/", "bench/", "policies/", "migrations/"))}


def test_the_installed_wheel_migrates_and_serves_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "anywhere"
    folder.mkdir()
    port = free_port()
    env = _clean_env(EAM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}", EAM_PORT=str(port), EAM_LOG_FORMAT="text")

    where = subprocess.run(
        [str(installed / "python"), "-c", "import eam; print(eam.__file__)"], cwd=folder, env=env, capture_output=True, text=True, check=True
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout

    migrated = subprocess.run([str(installed / "eam"), "migrate"], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated to" in migrated.stderr, migrated.stderr

    server = subprocess.Popen(
        [str(installed / "eam"), "serve", "--no-migrate"], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until_serving(server, f"http://127.0.0.1:{port}/health/ready", timeout=60)
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["policies"] == "loaded", ready.text
    finally:
        server.terminate()
        stderr = server.communicate(timeout=30)[1]
    assert "EAM starting: environment development" in stderr and "up to date at" in stderr, stderr
    assert list(folder.iterdir()) == [], "nothing written to the working folder"

    # EAM_POLICIES_DIR still overrides the shipped policies: a folder without a catalogue is refused.
    # (In this test, not another: the environment is installed once per pytest-xdist worker.)
    (tmp_path / "policies").mkdir()
    env["EAM_POLICIES_DIR"] = str(tmp_path / "policies")
    refused = subprocess.run([str(installed / "eam"), "serve"], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1, refused.stderr
    assert str(tmp_path / "policies" / "catalogue.toml") in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
