"""Language-detection benchmark: candidates measured on real labelled text, see BENCHMARKS.md."""
