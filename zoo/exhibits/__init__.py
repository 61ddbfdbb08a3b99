"""Exhibits: the places animals live and staff work."""
