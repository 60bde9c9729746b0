"""The benchmark of CONTRACTS.md §5 (``make bench``); see bench/README.md."""
