"""Shared test setup."""

import os

# Tiny matrix products are far slower with OpenBLAS threads on this 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
