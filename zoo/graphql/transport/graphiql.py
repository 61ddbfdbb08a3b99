"""The GraphiQL page: every script, style and connection from this server, nothing else.

The page opens on a query over the demo data, with a login form that uses the
cookie routes, so a person exploring needs no curl. Its own script and
styles are files too (``static/zoo-graphiql.*``), so the Content-Security-
Policy can forbid inline script outright. URLs are built from the request's
``root_path``, so the page works under a path prefix (``uvicorn
--root-path``, or the app mounted in another).
"""

from __future__ import annotations

import html
from functools import cache
from string import Template

from zoo.graphql.transport.graphiql_assets import STATIC, assets, integrity_of

STATIC_PATH = "/graphql/static"

EXAMPLE_QUERY = """# Welcome to Zoo. Run this with Ctrl-Enter (or the play button).
#
# Reads are public. To create or update, log in with the form
# above, or put {"Authorization": "Bearer <token>"} in Headers.
# Subscriptions work here too:
#   subscription { animalEvents { kind animal { name } } }

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

_OWN_SCRIPTS = ("zoo-graphiql.js",)
_OWN_STYLES = ("zoo-graphiql.css",)


@cache
def _files() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(path under static, integrity) for the scripts and the styles, in page order."""
    scripts = [(f"vendor/{a.name}", a.integrity) for a in assets() if a.name.endswith(".js")]
    styles = [(f"vendor/{a.name}", a.integrity) for a in assets() if a.name.endswith(".css")]
    for name in _OWN_SCRIPTS:
        scripts.append((name, integrity_of((STATIC / name).read_bytes())))
    for name in _OWN_STYLES:
        styles.append((name, integrity_of((STATIC / name).read_bytes())))
    return scripts, styles


@cache
def _template() -> Template:
    return Template((STATIC / "graphiql.html").read_text())


def page(root_path: str) -> str:
    """The page for an app served under ``root_path`` ("" at the top)."""
    base = html.escape(root_path + STATIC_PATH)
    scripts, styles = _files()
    return _template().substitute(
        root=html.escape(root_path),
        example_query=html.escape(EXAMPLE_QUERY),
        scripts="\n".join(
            f'    <script src="{base}/{name}" integrity="{digest}"></script>'
            for name, digest in scripts
        ),
        styles="\n".join(
            f'    <link rel="stylesheet" href="{base}/{name}" integrity="{digest}" />'
            for name, digest in styles
        ),
    )


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""Only this origin. CSP level 3 lets ``'self'`` cover the same host's ``ws:``/``wss:``
(GraphiQL's subscriptions), which every current browser implements."""
