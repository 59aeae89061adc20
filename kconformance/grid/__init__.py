"""The feature x release grid: one model (``model``) and its renderers (``markdown``).

The run's report, the nightly's merged summary and the lifecycle matrix each build a
:class:`~kconformance.grid.model.Grid` from what they know and hand it to a renderer with the
style of their document; a renderer for another format (an HTML page) goes next to
``markdown`` and takes the same model.
"""
