"""Users and login, through fastapi-users: REST routes, tokens, and the user behind a request."""
