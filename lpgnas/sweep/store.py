"""The record of a sweep's finished points: SQLite, through the standard library.

Why SQLite and not JSON Lines: each record is one transaction, and SQLite's rollback journal
makes a transaction all-or-nothing and durable (synchronous=FULL) across a SIGKILL or a power
cut, with no recovery code of ours; a torn last line of a JSONL file would need exactly that
code. Only the sweep's main process writes (workers return their outcome to it), so there is
one writer; an exclusive lock on the sweep directory keeps a second sweep out.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hwsim.errors import InputError

DB_NAME = "sweep.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE points (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    point TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    rows TEXT NOT NULL,
    error TEXT,
    seconds REAL NOT NULL,
    finished_at TEXT NOT NULL
)""",
)


@dataclass(frozen=True)
class Record:
    """A finished point: its outcome and, when done, its rows (one per target) for the Pareto analysis."""

    key: str
    kind: str
    point: dict
    status: str
    rows: list[dict]
    error: str | None
    seconds: float

    def line(self) -> str:
        """The record as one JSON line, the format `read_records` reads."""
        return json.dumps(asdict(self), sort_keys=True)


class SweepStore:
    """The finished points of the sweep in `directory` (created when `create` is true)."""

    def __init__(self, directory: str | Path, create: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        if not self.path.is_file():
            if not create:
                raise InputError(str(self.directory), "", f"not a sweep directory (no {DB_NAME})")
            if self.directory.is_dir() and any(self.directory.iterdir()):
                raise InputError(str(self.directory), "", f"exists and is not a sweep directory (no {DB_NAME}); "
                                 "choose a new or empty --out")
            self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA synchronous=FULL")
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                with self._db:
                    self._db.execute("BEGIN")
                    for statement in _SCHEMA:
                        self._db.execute(statement)
                    self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            version = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        except sqlite3.DatabaseError as err:
            raise InputError(str(self.path), "", f"not a sweep database ({err}); move it away or choose "
                             "another --out") from None
        if version is None or version[0] != str(SCHEMA_VERSION):
            found = "none" if version is None else version[0]
            raise InputError(str(self.path), "meta.schema_version", f"expected {SCHEMA_VERSION}, found {found}")

    def lock(self) -> None:
        """Hold the sweep directory for this process (released when it exits, even by SIGKILL)."""
        self._lock = open(self.directory / ".lock", "w")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(str(self.directory), "", "another sweep is running in this directory") from None

    def record(self, key: str, kind: str, point: dict, outcome: dict) -> None:
        """Store one finished point (outcome: status, rows, error, seconds) in its own transaction,
        replacing an earlier failure of the same point."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (key, kind, json.dumps(point), outcome["status"], json.dumps(outcome["rows"]),
                              outcome["error"], outcome["seconds"], time.strftime("%Y-%m-%dT%H:%M:%S")))

    def records(self) -> list[Record]:
        out = []
        try:
            rows = self._db.execute("SELECT key, kind, point, status, rows, error, seconds FROM points "
                                    "ORDER BY rowid").fetchall()
        except sqlite3.DatabaseError as err:
            raise InputError(str(self.path), "points", f"unreadable ({err})") from None
        for key, kind, point, status, data, error, seconds in rows:
            try:
                out.append(Record(key, kind, json.loads(point), status, json.loads(data), error, seconds))
            except ValueError as err:
                raise InputError(str(self.path), f"points[{key}]", f"corrupt record ({err})") from None
        return out

    def add(self, records: list[Record]) -> int:
        """Add the done `records` whose points this store has not finished (a failure here is
        replaced); returns how many were added."""
        done = {r.key for r in self.records() if r.status == "done"}
        added = [r for r in records if r.status == "done" and r.key not in done]
        for r in added:
            self.record(r.key, r.kind, r.point, {"status": "done", "rows": r.rows, "error": None, "seconds": r.seconds})
        return len(added)

    def close(self) -> None:
        self._db.close()
        if getattr(self, "_lock", None) is not None:
            self._lock.close()  # releases the lock
            self._lock = None


def read_records(path: str | Path) -> list[Record]:
    """The done records of a JSON Lines file of `Record.line`s. Why: the records are a study's
    whole result, small and plain text, so they can be kept in version control and continued on
    another machine (the run directories, checkpoints included, stay behind)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(str(path), "", f"unreadable ({err})") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = Record(**json.loads(line))
        except (ValueError, TypeError) as err:
            raise InputError(str(path), f"line {number}", f"not a sweep record ({err})") from None
        types = (("key", str), ("kind", str), ("point", dict), ("rows", list), ("seconds", (int, float)))
        if record.status != "done" or not all(isinstance(getattr(record, f), t) for f, t in types):
            raise InputError(str(path), f"line {number}", "not a done sweep record")
        records.append(record)
    return records
