"""Who may see and do what: dashboard and CLI users, roles, organisations' visibility, masked and parsed numbers."""
