"""The GraphQL layer: it owns neither tables nor rules, only the mapping onto the services."""
