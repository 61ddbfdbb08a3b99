"""Changes announced by the commits that make them, fanned out to subscribers."""
