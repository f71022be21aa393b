"""Shared fixtures: the offline dataset root (tests that need it skip without it) and small graphs."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DEFAULT_DATA = REPO.parent / "shared" / "datasets"


def load_script(relative: str):
    """A script outside the package (examples/, benchmarks/) as a module, registered in
    sys.modules under its stem (dataclasses look their module up there)."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def dataset_root() -> Path | None:
    root = Path(os.environ.get("LPGNAS_DATA", _DEFAULT_DATA))
    return root if (root / "Cora" / "raw").is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _writable_cache(tmp_path_factory) -> None:
    """Never write into the user's cache or the shared data root from tests unless asked."""
    if not os.environ.get("LPGNAS_CACHE"):
        os.environ["LPGNAS_CACHE"] = str(tmp_path_factory.mktemp("lpgnas-cache"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = dataset_root()
    if root is None:
        pytest.skip("offline datasets not found: set LPGNAS_DATA to a folder with Cora/raw "
                    "(e.g. ../shared/datasets)")
    return root


@pytest.fixture(scope="session")
def cora(data_root):
    from lpgnas.data import load_dataset

    return load_dataset("cora", data_root)
