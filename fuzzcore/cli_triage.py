"""CLI commands of the triage tools (minimize, cmin, show, replay), registered on `fuzzcore`."""


def register(main) -> None:
    """Add the triage commands to the `fuzzcore` group."""
