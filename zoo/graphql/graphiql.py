"""GraphiQL, opened on a query that works against the seeded demo data."""

from __future__ import annotations

import re

EXAMPLE_QUERY = """# Welcome to Zoo. Run this with Ctrl-Enter (or the play button).
#
# Reads are public. To create or update, log in first:
#   curl -s -X POST http://127.0.0.1:8000/auth/jwt/login \\\\
#        -d username=admin@example.com -d password=...
# then add {"Authorization": "Bearer <access_token>"} in the Headers tab below.

query Exhibits {
  exhibits(first: 5, orderBy: {field: NAME}) {
    totalCount
    edges {
      node {
        id
        name
        location
        animalCount
        animals { id name species }
        staff { name jobTitle }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

_EXAMPLE = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)


def with_example_query(html: str) -> str:
    escaped = EXAMPLE_QUERY.replace("`", "\\`").replace("${", "\\${")
    return _EXAMPLE.sub(lambda _: f"const EXAMPLE_QUERY = `{escaped}`;", html, count=1)
