"""Vendor ReDoc's standalone bundle into the HTTP server package, so that `/redoc` works offline.

Runs `npm pack redoc@<version>` in a temporary directory (npm only downloads the package tarball; nothing
is installed or run), extracts `bundles/redoc.standalone.js` with its license texts, and writes them to
`src/adapters_http/server/assets/redoc/`. Commit the result; run again only to change the version:

    python scripts/vendor_redoc.py [--version 2.5.4]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REDOC_VERSION = "2.5.4"
TARGET = Path(__file__).resolve().parent.parent / "src" / "adapters_http" / "server" / "assets" / "redoc"
MEMBERS = {
    "package/bundles/redoc.standalone.js": "redoc.standalone.js",
    "package/bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
    "package/LICENSE": "LICENSE",
}


def pack(version: str, workdir: Path) -> Path:
    """The tarball of `redoc@version`, downloaded from the npm registry by `npm pack`."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the redoc package: install Node.js first")
    result = subprocess.run(
        [npm, "pack", f"redoc@{version}", "--silent"], cwd=workdir, check=True, capture_output=True, text=True
    )
    return workdir / result.stdout.strip().splitlines()[-1]


def extract(tarball: Path, target: Path, version: str) -> None:
    """Write the members of `MEMBERS` from `tarball` into `target`, plus a VERSION file naming the source."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member, name in MEMBERS.items():
            source = archive.extractfile(member)
            if source is None:
                raise SystemExit(f"{tarball.name} has no {member}")
            (target / name).write_bytes(source.read())
    digest = hashlib.sha256((target / "redoc.standalone.js").read_bytes()).hexdigest()
    (target / "VERSION").write_text(f"redoc {version} (npm), redoc.standalone.js sha256 {digest}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", default=REDOC_VERSION, help=f"the redoc version (default {REDOC_VERSION})")
    parser.add_argument("--target", type=Path, default=TARGET, help="where to write the files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        extract(pack(args.version, Path(workdir)), args.target, args.version)
    print(f"redoc {args.version} vendored into {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
