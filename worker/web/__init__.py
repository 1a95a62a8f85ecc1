"""The read-only web pages and JSON API over the store (`newsworker web`)."""
