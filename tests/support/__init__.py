"""Helpers the tests share: databases, accounts, clients, servers, factories, proxies."""
