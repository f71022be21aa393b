"""Hardware-budget sweeps: the spec and its points' keys, the SQLite store, the local and Ray
runners, and the Pareto tables and plots."""
