"""lpgnas.sweep.store and lpgnas.sweep.pareto: the SQLite record of finished points, its JSON
lines, and the frontiers."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwsim.errors import InputError
from lpgnas.cli import main
from lpgnas.sweep.pareto import frontier
from lpgnas.sweep.store import DB_NAME, SweepStore, read_records


def test_store_keeps_records_and_refuses_foreign_files(tmp_path):
    store = SweepStore(tmp_path / "s", create=True)
    store.record("k1", "search", {"a": 1}, {"status": "done", "rows": [{"x": 1}], "error": None, "seconds": 1.5})
    store.record("k2", "search", {"a": 2}, {"status": "failed", "rows": [], "error": "boom", "seconds": 0.1})
    store.close()
    records = SweepStore(tmp_path / "s").records()
    assert [(r.key, r.status, r.rows, r.error) for r in records] == [("k1", "done", [{"x": 1}], None),
                                                                     ("k2", "failed", [], "boom")]
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / DB_NAME).write_text("not a database at all, just text " * 10)
    with pytest.raises(InputError, match="not a sweep database"):
        SweepStore(tmp_path / "text")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    sqlite3.connect(foreign / DB_NAME).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(InputError, match="not a sweep database|schema_version"):
        SweepStore(foreign)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sweep directory"):
        SweepStore(tmp_path / "other", create=True)


def test_records_travel_as_json_lines(tmp_path):
    """Done records written as lines load into another store, which keeps what it has finished
    and replaces its failures; a malformed line names the file and the line."""
    source = SweepStore(tmp_path / "a", create=True)
    source.record("k1", "search", {"a": 1}, {"status": "done", "rows": [{"acc": 0.8}], "error": None, "seconds": 2.0})
    source.record("k2", "baseline", {"a": 2}, {"status": "done", "rows": [{"acc": 0.7}], "error": None, "seconds": 3})
    lines = tmp_path / "records.jsonl"
    lines.write_text("".join(r.line() + "\n" for r in source.records()))
    target = SweepStore(tmp_path / "b", create=True)
    target.record("k1", "search", {"a": 1}, {"status": "done", "rows": [{"acc": 0.9}], "error": None, "seconds": 1})
    target.record("k2", "baseline", {"a": 2}, {"status": "failed", "rows": [], "error": "boom", "seconds": 0.1})
    assert target.add(read_records(lines)) == 1
    assert {r.key: (r.status, r.rows, r.seconds) for r in target.records()} == {
        "k1": ("done", [{"acc": 0.9}], 1.0), "k2": ("done", [{"acc": 0.7}], 3.0)}
    assert target.add(read_records(lines)) == 0
    bad = tmp_path / "bad.jsonl"
    for text, needle in ((lines.read_text() + "{not json\n", "line 3"), ('{"key": "k"}\n', "line 1"),
                         (lines.read_text().replace('"done"', '"failed"'), "line 1")):
        bad.write_text(text)
        with pytest.raises(InputError) as caught:
            read_records(bad)
        assert str(bad) in caught.value.one_line() and needle in caught.value.one_line()


def test_a_second_sweep_in_the_same_directory_is_refused(tmp_path):
    holder = SweepStore(tmp_path / "s", create=True)
    holder.lock()
    with pytest.raises(InputError, match="another sweep"):
        SweepStore(tmp_path / "s").lock()


def test_pareto_of_a_directory_that_is_not_a_sweep_exits_2(tmp_path, capsys):
    (tmp_path / DB_NAME).write_bytes(b"\x00garbage" * 100)
    assert main(["pareto", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert DB_NAME in err and err.count("\n") == 1


@given(st.lists(st.tuples(st.floats(0.01, 10), st.floats(0, 1)), min_size=1, max_size=30))
def test_frontier_is_exactly_the_non_dominated_points(points):
    on = frontier(points)
    assert any(on)

    def dominates(p, q):
        return p[0] <= q[0] and p[1] >= q[1] and p != q

    for point, flag in zip(points, on):
        assert flag == (not any(dominates(other, point) for other in points))
