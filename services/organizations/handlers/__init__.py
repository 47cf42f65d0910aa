"""Request and event handlers of organizations, one module per domain module; the verb table in `table.py`."""
