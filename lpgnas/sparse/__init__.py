"""Sparse graph products for training: cached CSR patterns, autograd ops for aggregation and
attention, and the numba kernels behind them."""
