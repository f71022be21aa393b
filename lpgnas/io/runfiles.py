"""Files of a run directory, written atomically so an interruption never leaves half a file."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from hwsim.errors import InputError, NonFiniteError
from hwsim.files import regular_file


def _replace(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file, fsync it, then rename it over `path`: an interruption or a
    full disk leaves the old file (or none) and no half-written temporary behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    _replace(path, lambda handle: handle.write(data))


def write_json(path: Path, obj: Any) -> None:
    """JSON with finite numbers only: a NaN or inf is refused, and nothing is written."""
    try:
        text = json.dumps(obj, indent=2, allow_nan=False)
    except ValueError:
        raise NonFiniteError(str(path), "", "a value is NaN or infinite; nothing was written") from None
    write_atomic(path, (text + "\n").encode())


def check_finite(value: float, what: str, where: str) -> float:
    """`value` if it is finite; else the run stops with a NonFiniteError naming `what` and `where`."""
    if not math.isfinite(value):
        raise NonFiniteError(what, "", f"became {value} at {where}; the run stops here (an input out of range, "
                             "such as a learning rate or weight decay far too large?)")
    return value


def write_text(path: Path, text: str) -> None:
    write_atomic(path, text.encode())


def save_torch(path: Path, obj: Any) -> None:
    """torch.save, written as write_atomic writes."""
    import torch  # here, so that the commands that write no tensors never import torch

    _replace(path, lambda handle: torch.save(obj, handle))


def load_torch(path: Path, what: str = "checkpoint") -> Any:
    """A tensor file of a run directory, loaded as data only (weights_only): a file holding code
    or other objects is refused before anything in it runs. Damage is a one-line InputError."""
    import pickle

    import torch

    regular_file(path)  # a pipe or a device would never end
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message opens with advice to load unsafely; what went wrong follows this marker
        reason = str(err).partition("WeightsUnpickler error:")[2].strip().split("\n")[0] or type(err).__name__
        if "global" in reason.lower():
            raise InputError(str(path), "", f"refused: the {what} holds code or objects other than tensors "
                             f"({reason[:160]}); nothing in it was run. Delete it to start that part again") from None
        raise InputError(str(path), "", f"unreadable {what} ({reason[:160]}); delete it to start that part "
                         "again") from None
    except (RuntimeError, EOFError, ValueError, OSError, AttributeError, TypeError, IndexError) as err:
        raise InputError(str(path), "", f"unreadable {what} ({type(err).__name__}: {str(err)[:200]}); "
                         "delete it to start that part again") from None


def read_json(path: Path) -> Any:
    """A JSON file of a run or sweep directory; damage (not UTF-8, not JSON) is an InputError."""
    try:
        return json.loads(regular_file(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(str(path), "", f"not valid JSON ({str(err)[:120]}); delete it to redo that part") from None
