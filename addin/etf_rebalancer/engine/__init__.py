"""Pure rebalancing engine: pandas/numpy/scipy only; no I/O, clock or Excel."""
