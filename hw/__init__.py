"""Amaranth 0.5 components of the Dual-side Sparse Tensor Core, one per module."""
