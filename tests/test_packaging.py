"""The package as a user installs it: a built wheel in a fresh venv outside the checkout finds its
presets and example networks, prints its version, and the quick commands never import torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest

from lpgnas import __version__

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.mark.slow
def test_the_wheel_works_installed_outside_the_checkout(tmp_path):
    # Built from a copy, so the build leaves no build/ or egg-info in the checkout.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "runs", ".pytest_cache", ".hypothesis", ".ruff_cache"))
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(source)],
                tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("lpgnas_hw-*.whl")
    # A fresh venv whose dependencies (torch's CPU build among them) come from this interpreter's
    # site-packages through a .pth line: pip installs the wheel alone and downloads nothing. Such
    # a line adds a path without running the .pth files in it, so the checkout's editable install
    # stays invisible there.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    Path(site.stdout.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run([str(python), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)], tmp_path)
    assert installed.returncode == 0, installed.stderr
    where = run([str(python), "-c", "import lpgnas, hwsim; print(lpgnas.__file__); print(hwsim.__file__)"], tmp_path)
    assert all(line.startswith(str(env_dir)) for line in where.stdout.split()), where.stdout
    cli = env_dir / "bin" / "lpgnas-hw"
    assert run([str(cli), "--version"], tmp_path).stdout.strip() == f"lpgnas-hw {__version__}"
    targets = run([str(cli), "targets"], tmp_path)
    assert targets.returncode == 0 and all(name in targets.stdout for name in ("zcu102", "zcu104", "u250", "u280"))
    graph = tmp_path / "ring.npz"
    ring = np.arange(50)
    np.savez(graph, edge_index=np.stack([ring, (ring + 1) % 50]), y=ring % 3)
    simulated = run([str(cli), "simulate", "--target", "zcu102", "--arch", "gcn", "--dataset", str(graph),
                     "--json"], tmp_path)
    assert simulated.returncode == 0, simulated.stderr
    assert '"latency_ms"' in simulated.stdout


@pytest.mark.parametrize("argv", [["targets"], ["--help"], ["simulate", "--target", "zcu102", "--arch", "gcn",
                                                             "--dataset", "GRAPH"]])
def test_quick_commands_import_neither_torch_nor_torch_geometric(argv, tmp_path):
    graph = tmp_path / "ring.npz"
    ring = np.arange(20)
    np.savez(graph, edge_index=np.stack([ring, (ring + 1) % 20]), y=ring % 2)
    argv = [str(graph) if a == "GRAPH" else a for a in argv]
    code = (f"import sys\nfrom lpgnas.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torch_geometric'))[:3])")
    done = run([sys.executable, "-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
