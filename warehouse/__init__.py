"""Report -> Parquet tables; DuckDB views; cross-report checks."""
