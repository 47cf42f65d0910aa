"""The four services, one package each (grids, cases, organizations, volunteers); no service imports another."""
