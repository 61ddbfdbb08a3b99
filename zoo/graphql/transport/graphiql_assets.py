"""The explorer's third-party files, pinned and hashed, served by this server itself.

GraphiQL's page needs React, ReactDOM, GraphiQL and its explorer plugin. A
page that loads them from a CDN stays blank on "Loading..." wherever the CDN
cannot be reached (an air-gapped lab, a locked-down network, a plane), and
trusts that CDN with every visitor's session. So the files ship in the
package (``static/vendor``), unchanged from the npm registry's tarballs, at
the versions ``static/vendor/manifest.json`` pins, each with its Subresource
Integrity hash, which the page carries and the browser checks.

``make graphiql-assets`` (``python -m zoo.graphql.transport.graphiql_assets``) fetches
those exact versions again with ``npm pack``, checks every file against its
pinned hash and writes it in place with the package's license beside it.
``--upgrade graphiql@3.9.0`` moves one package to another version and records
the new hashes: an upgrade is one command and a reviewed diff.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
MANIFEST = VENDOR / "manifest.json"


@dataclass(frozen=True)
class Asset:
    name: str
    """The file's name under ``static/vendor``."""
    package: str
    version: str
    path: str
    """Where the file lies in the package's tarball (under ``package/``)."""
    integrity: str
    """``sha384-...``: what the page's ``integrity`` attribute says and the fetch checks."""
    license_from: str | None = None
    """The package whose license file covers this one, when its tarball carries none."""


def integrity_of(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


@cache
def assets() -> tuple[Asset, ...]:
    return tuple(Asset(**entry) for entry in json.loads(MANIFEST.read_text()))


def license_name(package: str) -> str:
    return "LICENSE." + package.replace("@", "").replace("/", "-") + ".txt"


def _pack(spec: str, into: Path) -> Path:
    """``npm pack``: the registry's tarball, checked against the registry's own hash."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the explorer's files")
    output = subprocess.run(  # noqa: S603 - the developer's own spec, no shell
        [npm, "pack", spec, "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    filename: str = json.loads(output)[0]["filename"]
    return into / filename


def _member(tarball: Path, path: str) -> bytes | None:
    with tarfile.open(tarball) as archive:
        try:
            member = archive.extractfile(f"package/{path}")
        except KeyError:
            return None
        return member.read() if member is not None else None


def fetch(upgrades: dict[str, str]) -> list[Asset]:
    """Every pinned file again (at the upgraded version where asked), hashes checked."""
    fetched: list[Asset] = []
    licenses: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="zoo-assets-") as scratch:
        tarballs: dict[str, Path] = {}
        for asset in assets():
            version = upgrades.get(asset.package, asset.version)
            spec = f"{asset.package}@{version}"
            if spec not in tarballs:
                tarballs[spec] = _pack(spec, Path(scratch))
                license_text = _member(tarballs[spec], "LICENSE")
                if license_text is not None:
                    licenses[asset.package] = license_text
            content = _member(tarballs[spec], asset.path)
            if content is None:
                raise SystemExit(f"{spec} has no {asset.path}")
            integrity = integrity_of(content)
            if asset.package not in upgrades and integrity != asset.integrity:
                raise SystemExit(
                    f"{spec} {asset.path}: {integrity}, but the manifest pins {asset.integrity}"
                )
            (VENDOR / asset.name).write_bytes(content)
            fetched.append(Asset(**{**asdict(asset), "version": version, "integrity": integrity}))
    for asset in fetched:
        source = asset.license_from or asset.package
        if source not in licenses:
            raise SystemExit(f"no license file found for {asset.package}")
        text = licenses[source]
        if asset.license_from:
            note = (
                f"{asset.package} {asset.version} ships no license file; its package.json says MIT"
            )
            text = (
                f"{note}, under the license of {source} (the same repository):\n\n".encode() + text
            )
        (VENDOR / license_name(asset.package)).write_bytes(text)
    return fetched


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.graphql.transport.graphiql_assets", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--upgrade",
        action="append",
        default=[],
        metavar="PACKAGE@VERSION",
        help="move a package to another version and record its new hashes",
    )
    args = parser.parse_args()
    upgrades = dict(spec.rsplit("@", 1) for spec in args.upgrade)
    fetched = fetch(upgrades)
    MANIFEST.write_text(json.dumps([asdict(a) for a in fetched], indent=2) + "\n")
    for asset in fetched:
        print(f"{asset.package}@{asset.version} {asset.path} -> {asset.name} {asset.integrity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
