"""The app's screens: one per step of the workflow (listed once, in ``table.SCREENS``), plus
dialogs and help. Nothing here imports the app: screens post requests (``ppipe_tui.messages``)."""
