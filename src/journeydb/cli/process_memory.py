"""How the `journeydb` process hands freed memory back to the system (the CLI owns its process; the library never
changes these process-wide settings).

Scoring a split builds corpus-sized arrays and Arrow columns, one phase after another. With the allocators'
defaults the memory of a finished phase stays in the process: glibc raises its mmap threshold each time a large
block is freed (up to 32 MB), so later blocks of a few MB come from the heap and stay mapped after `free`; Arrow's
default jemalloc pool keeps freed pages for reuse. Measured on `journeydb evaluate` at 200k validation images
(`benchmarks/scale.py`), the two settings below lower peak RSS by 150-260 MB with no change in wall time:

- Arrow allocates from the system allocator (`pyarrow.system_memory_pool()`);
- glibc's mmap threshold is fixed at `MMAP_THRESHOLD` (which also stops its dynamic growth), so every block of
  1 MiB or more is its own mapping and goes back to the system when freed. Not on glibc: nothing to do.
"""

from __future__ import annotations

import ctypes
import logging

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def release_freed_memory() -> None:
    """Apply both settings of the module docstring to this process (idempotent)."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt, Windows)
        logger.debug("no mallopt: the allocator's own policy stays")
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if not mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        logger.debug("mallopt(M_MMAP_THRESHOLD) refused")
