"""Pure, vectorised portfolio backtests and statistics (bt/ffn conventions)."""
