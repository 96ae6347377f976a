"""The offline analyzer: a deterministic, rule-based writer of the 15-section analysis."""

from diagpro.adapters.offline_analyzer.analyzer import MODEL_NAME, VERSION, OfflineAnalyzer

__all__ = ["MODEL_NAME", "VERSION", "OfflineAnalyzer"]
