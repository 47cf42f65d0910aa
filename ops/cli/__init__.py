"""The `yiwang` command line: dev tokens, the local launcher, demo data."""
