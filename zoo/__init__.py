"""Zoo: a GraphQL API for a zoo's exhibits, animals and staff."""

__version__ = "0.1.0"
