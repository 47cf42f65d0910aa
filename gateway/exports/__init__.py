"""Exports: spreadsheets of cases and figures made as jobs (`jobs`), from tables the services answer
with the caller's own token (`tables`), laid out as xlsx or CSV (`files`), downloaded by a signed,
short-lived link (`links`, `route`)."""
