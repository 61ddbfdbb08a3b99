"""How a request reaches the app, and how the serving process starts and stops."""
