"""CLI commands of exploration and patch review (explore, diff), registered on `fuzzcore`."""


def register(main) -> None:
    """Add the explore/diff commands to the `fuzzcore` group."""
