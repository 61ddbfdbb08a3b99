"""Bounds on what one document may ask: size, depth, cost, and the refusals."""
