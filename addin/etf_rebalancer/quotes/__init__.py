"""Quote providers behind one interface, a SQLite cache and the batched refresh."""
