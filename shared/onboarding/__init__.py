"""Onboarding a city from its files (`yiwang import`): tables.py reads a spreadsheet or a GIS file
as rows, kinds.py says what each kind's columns are and what a row asks of the services,
runner.py checks every row and sends the good ones, templates.py writes a blank file per kind."""
