"""ppipe-tui: the interactive planner in the terminal (Textual)."""
