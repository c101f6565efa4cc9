"""The home page: the admin index's setup checklist, live figures and charts of the last day."""
