"""feeds.yaml: read, validate against schemas/feeds.schema.json, report errors with lines."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from worker.errors import ConfigError
from worker.jsonschemas import load_schema

DEFAULT_INTERVAL = 900


@dataclass(frozen=True)
class FeedSpec:
    name: str
    url: str
    interval_seconds: int = DEFAULT_INTERVAL
    tags: tuple[str, ...] = ()
    enabled: bool = True
    respect_robots: bool = True
    adaptive: bool = False
    # Query parameters (glob patterns) dropped from this feed's article URLs, on top of the
    # service's pure-tracking list: canonicalize(url, spec.strip_params).
    strip_params: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedsFile:
    feeds: list[FeedSpec]
    allow_private_networks: bool = False


@dataclass(frozen=True)
class Problem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.path or '(top)'}: {self.message}"


class FeedsFileError(ConfigError):
    reason = "feeds_file_invalid"

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems))
        self.problems = problems


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema("feeds.schema.json"))


def _lines(node, path=(), out=None) -> dict[tuple, int]:
    """Map each JSON path in the YAML document to its 1-based line number."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)
    return out


def check_text(text: str) -> tuple[dict | None, list[Problem]]:
    """Parse and validate the YAML text; every problem found, each with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(mark.line + 1 if mark else None, "", f"not valid YAML: {exc}")]
    if node is None:
        return None, [Problem(1, "", "the file is empty")]
    lines = _lines(node)
    problems = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # Point at the unknown key itself, not at the start of its object.
            known = set(error.schema.get("properties", {}))
            extra = [k for k in error.instance if k not in known]
            path = (*path, extra[0]) if extra else path
        line = lines.get(path) or lines.get(path[:-1])
        problems.append(Problem(line, "/".join(str(p) for p in path), error.message))
    if not problems:
        seen: dict[str, int] = {}
        for i, feed in enumerate(data["feeds"]):
            if feed["url"] in seen:
                problems.append(Problem(lines.get(("feeds", i, "url")), f"feeds/{i}/url",
                                        f"same URL as feed #{seen[feed['url']]}"))
            seen.setdefault(feed["url"], i)
    return (data if not problems else None), problems


def load(path: Path) -> FeedsFile:
    """The validated feeds file; raises FeedsFileError listing every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FeedsFileError(Path(path), [Problem(None, "", f"cannot read: {exc}")]) from exc
    data, problems = check_text(text)
    if problems:
        raise FeedsFileError(Path(path), problems)
    defaults = data.get("defaults") or {}
    specs = []
    for item in data["feeds"]:
        merged = {**defaults, **item}
        specs.append(FeedSpec(
            name=merged["name"], url=merged["url"],
            interval_seconds=int(merged.get("interval_seconds", DEFAULT_INTERVAL)),
            tags=tuple(dict.fromkeys([*defaults.get("tags", []), *item.get("tags", [])])),
            enabled=bool(merged.get("enabled", True)),
            respect_robots=bool(merged.get("respect_robots", True)),
            adaptive=bool(merged.get("adaptive", False)),
            strip_params=tuple(dict.fromkeys([*defaults.get("strip_params", []),
                                              *item.get("strip_params", [])]))))
    return FeedsFile(feeds=specs,
                     allow_private_networks=bool(defaults.get("allow_private_networks", False)))
