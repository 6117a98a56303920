"""``ppipe show`` and ``ppipe check`` (filled in with the planner)."""
