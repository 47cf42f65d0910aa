"""Wire models: what services accept over request-reply. The gateway builds the same models."""
