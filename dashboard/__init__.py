"""The Streamlit dashboard: one module per page over a tested data layer (dashboard/data.py)."""
