"""The eval suite: gold reports, scorers, generators of other layouts, benchmarks."""
