"""Layer 5: the `tfdefend` command line."""
