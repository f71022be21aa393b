"""Files of a run directory, written atomically so an interruption never leaves half a file."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from hwsim.errors import InputError, NonFiniteError


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file, fsync it, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk or an interrupt leaves no half-written temporary behind
        tmp.unlink(missing_ok=True)
        raise


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
    """torch.save through a temporary file, fsynced before the rename (as write_atomic)."""
    import torch  # here, so that the commands that write no tensors never import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_torch(path: Path, what: str = "checkpoint") -> Any:
    """A tensor file of a run directory, loaded as data only (weights_only): a file holding code
    or other objects is refused before anything in it runs. Damage is a one-line InputError."""
    import pickle

    import torch

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
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(str(path), "", f"not valid JSON ({str(err)[:120]}); delete it to redo that part") from None
