"""The JSON Schemas (feeds file, exported records), read from inside the installed package.

`schemas/` at the top of the repository is the one source; `worker/schemas` is a symlink to
it that setuptools follows when it builds the wheel, so an installed package carries copies
under `worker/schemas` and never claims a top-level `schemas` name in site-packages.
"""

from __future__ import annotations

import json
from importlib.resources import files
from importlib.resources.abc import Traversable


def _folder() -> Traversable:
    return files("worker") / "schemas"


def load_schema(name: str) -> dict:
    """One schema by file name, e.g. `feeds.schema.json`, parsed."""
    return json.loads((_folder() / name).read_text(encoding="utf-8"))


def all_schemas() -> dict[str, dict]:
    """Every schema by file name: what a validator needs to resolve `$ref`s between them."""
    return {entry.name: json.loads(entry.read_text(encoding="utf-8"))
            for entry in _folder().iterdir() if entry.name.endswith(".schema.json")}
