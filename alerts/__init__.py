"""Alert rules, incidents and their delivery."""
