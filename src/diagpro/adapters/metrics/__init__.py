"""Metrics: the Meter port counted in a Prometheus registry (``prometheus.py``), and the
analyzer and renderer timed where they are called (``metered.py``)."""
