"""sig-scheduling suites."""
