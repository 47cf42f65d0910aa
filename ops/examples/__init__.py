"""Runnable examples the README shows verbatim (tests run them)."""
