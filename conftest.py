"""Root conftest: the kconformance plugin itself comes from the pytest11 entry point.

pytester drives the plugin's own tests (tests/), which run pytest inside pytest with fake
kind and docker executables.
"""

pytest_plugins = ["pytester"]
