"""benchmarks/validate_scalesim.py: the per-fold dataflow counts SCALE-Sim's cycles."""

from conftest import load_script

validate = load_script("benchmarks/validate_scalesim.py")


def test_per_fold_products_are_within_ten_percent_of_scale_sim(data_root):
    rows = validate.compare(str(data_root))
    assert len(rows) == 2 and all(abs(row["error"]) <= validate.GOAL for row in rows)
    assert all(row["pipelined"] < row["per_fold"] for row in rows)
