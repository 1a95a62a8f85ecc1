"""Feeds: the feeds file, parsing a feed's entries, and when to poll it next."""
