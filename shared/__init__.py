"""Yiwang shared kernel: settings, messaging, Mongo, auth, geo."""
