"""The evidence page: signed short-lived links, stored snapshots and their HTML view."""
