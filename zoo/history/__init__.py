"""Who changed what and when: the change log as the API serves it (history, audit)."""
