"""The LPGNAS search: space, supernet and controller, the cost-aware loss and loop, derivation
and the run (search, select, retrain, simulate) with its run directory."""
