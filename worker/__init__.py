"""newsworker: French news feeds in, clean annotated deduplicated articles out."""

__version__ = "0.1.0"
