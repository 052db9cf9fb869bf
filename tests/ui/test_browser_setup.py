"""The browser tests' own set-up: a run that selects them installs Chromium when it is missing,
and a run that cannot install it stops at once with a message (it is never skipped)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.ui.browser import ROOT, runs_browser_tests


def test_only_runs_that_may_collect_browser_tests_install_chromium() -> None:
    for args in ([], ["tests"], ["tests/ui"], ["tests/ui/test_journeys.py::test_reject_with_a_reason_the_employee_reads"], [str(ROOT / "tests")], ["."]):
        assert runs_browser_tests(args, ROOT), args
    for args in (["tests/test_layers.py"], ["tests/test_auth.py", "tests/test_people.py::test_x"], ["eam"]):
        assert not runs_browser_tests(args, ROOT), args


def test_a_run_that_cannot_install_chromium_stops_with_a_message(tmp_path: Path) -> None:
    """Chromium "missing" (another path) and an apt-get that fails: the run ends with exit code 3
    and says why, before any test runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt_get = bin_dir / "apt-get"
    apt_get.write_text("#!/bin/sh\necho 'E: Unable to locate package chromium' >&2\nexit 100\n")
    apt_get.chmod(0o755)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST_", "EAM_"))}
    env.update(EAM_TEST_CHROMIUM=str(tmp_path / "no-chromium"), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", "tests/ui/test_journeys.py"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "need Chromium, which could not be set up" in output, output
    assert "apt-get update` failed (exit 100)" in output and "Unable to locate package chromium" in output, output
    assert "passed" not in output and "skipped" not in output, output
