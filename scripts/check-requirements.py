#!/usr/bin/env python3
"""Exit 0 when every `name==version` pin of the requirements file is installed, else 1 naming
the first missing or different one. Used by scripts/test to install only when needed."""

import sys
from importlib import metadata

for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, version = line.partition("==")
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(f"{name} is not installed")
    if version and found != version:
        sys.exit(f"{name} {found} is installed, {version} is pinned")
