"""The Node helpers the tests run (tests/casbin_node, tests/jose_node, tests/oidc_node): their packages,
installed from each directory's committed lock file with ``npm ci``."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path


def npm_ci(node_dir: Path, package: str, *, timeout: float = 300) -> None:
    """Install ``node_dir``'s dependencies (``npm ci``) unless ``package`` is installed there already.

    Safe when several pytest-xdist workers, or several test runs, need it at once: each waits for an
    exclusive lock on the directory's package.json and looks only while holding it, so the first one
    installs and the others find the finished install (``npm ci`` empties node_modules first, so an
    unlocked look could see a half-done one). ``node_modules/.package-lock.json`` is written last,
    so an install that was interrupted is done again. Fails if node or npm is missing.
    """
    npm = shutil.which("npm")
    if not (npm and shutil.which("node")):
        raise RuntimeError(f"node and npm are needed for the Node helpers in {node_dir}")
    installed = (node_dir / "node_modules" / package / "package.json", node_dir / "node_modules" / ".package-lock.json")
    with open(node_dir / "package.json", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not all(path.exists() for path in installed):
                subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=node_dir, check=True, timeout=timeout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
