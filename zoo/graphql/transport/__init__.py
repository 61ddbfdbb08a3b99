"""``/graphql`` over HTTP, WebSocket, SSE and multipart, and the GraphiQL page."""
