"""The app's screens: one per step of the workflow, plus dialogs and help."""
