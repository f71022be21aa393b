"""Reading user files: every failure becomes an InputError naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hwsim.errors import InputError


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; unreadable or malformed files become InputError."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise InputError(str(path), "", f"cannot read file: {err.strerror or err}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(str(path), "", f"not valid YAML{where}") from None
