"""Files and signals shared by training, the search and sweeps: run files written atomically,
the arch.yaml format, deferred interrupts and progress on stderr."""
