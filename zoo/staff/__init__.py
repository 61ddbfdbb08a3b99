"""Staff: the people assigned to exhibits."""
