"""Reading user files: every failure becomes an InputError naming the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from hwsim.errors import InputError


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` merges, it is not a key
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: construct_mapping reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# A user's text file (a target, an arch file, a sweep config, an edge list) larger than this is
# not one: refused instead of read (a device such as /dev/zero would never end).
MAX_TEXT_BYTES = 256 * 2**20


def regular_file(path: str | Path, limit: int | None = None) -> Path:
    """`path` if it is a regular file (not a FIFO, device or folder) of at most `limit` bytes."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as err:
        raise InputError(str(path), "", f"cannot read file: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(str(path), "", "not a regular file (a folder, a pipe or a device)")
    if limit is not None and info.st_size > limit:
        raise InputError(str(path), "", f"{info.st_size:,} bytes: larger than such a file can be ({limit:,})")
    return path


def file_or_named(spec: str | os.PathLike, folder: Path, names: list[str], what: str, source: str) -> Path:
    """A YAML file's path as given, or the shipped file of that name in `folder` (a preset
    target, an example network); `what` says which kind, for the error that lists `names`."""
    path = Path(spec)
    if path.is_file() or path.suffix in (".yaml", ".yml") or os.sep in str(spec):
        return path
    named = folder / f"{spec}.yaml"
    if named.is_file():
        return named
    raise InputError(source, "", f"no file or {what} named {str(spec)!r}; {what}s: {', '.join(names)}")


def read_text(path: str | Path) -> str:
    """A user's text file as UTF-8; unreadable files and other encodings become InputError."""
    try:
        data = regular_file(path, MAX_TEXT_BYTES).read_bytes()
    except OSError as err:
        raise InputError(str(path), "", f"cannot read file: {err.strerror or err}") from None
    try:
        return data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not content
    except UnicodeDecodeError as err:
        raise InputError(str(path), "", f"not UTF-8 text (byte {err.start}); save it as UTF-8") from None


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; unreadable or malformed files, keys given twice and structures nested
    deeper than Python's recursion allows become InputError."""
    text = read_text(path)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: data, never objects
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None)
        detail = f": {problem}" if problem and "twice" in problem else ""
        raise InputError(str(path), "", f"not valid YAML{where}{detail}") from None
    except RecursionError:
        raise InputError(str(path), "", "nested too deeply to read") from None
