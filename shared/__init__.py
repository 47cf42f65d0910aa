"""Yiwang's kernel, which imports no service: settings, messaging, Mongo, auth and scope, domain bases, geo."""
