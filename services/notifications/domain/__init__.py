"""Pure rules of notifications: the rule table, recipients, preferences and quiet hours (no I/O)."""
