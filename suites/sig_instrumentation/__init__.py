"""sig-instrumentation suites."""
