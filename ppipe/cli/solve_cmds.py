"""``ppipe solve`` (filled in with the planner)."""
