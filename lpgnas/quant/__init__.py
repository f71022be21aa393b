"""Quantisation: the deployed fake quantisers (straight-through) and the search's width mixture,
with their numba kernels."""
