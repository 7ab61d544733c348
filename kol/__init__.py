"""Authors and influence: who moves opinion about a brand (KOL candidates), who speaks for it
(官方, 媒体), who argues against it, and which accounts are copy-paste 水军.

graph.py builds the repost graph and its PageRank, activity.py sums up each author's mentions,
score.py turns them into percentile components and a 0–100 score, segments.py places each author,
and report.py puts it together for the CLI, the dashboard and the new-KOL alert rule.
"""
