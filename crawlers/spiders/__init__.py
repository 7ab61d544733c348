"""One spider per platform; each maps the platform's posts to DESIGN 4.3 post dicts."""
