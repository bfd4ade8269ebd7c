"""Numba-JIT geometry kernels: pure functions on numpy arrays (installed as ``workbench.kernels``)."""
