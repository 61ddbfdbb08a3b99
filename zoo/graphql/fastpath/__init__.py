"""The fast list executor, its plans and preloads, fenced from upstream internals."""
