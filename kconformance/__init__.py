"""kconformance: prove on real kind clusters that Kubernetes features behave as documented."""

__version__ = "0.1.0"
