"""Sub-commands added by later stages (analyze, exercise, sessions, report, export, ...)."""


def add_commands(sub) -> None:
    return None
