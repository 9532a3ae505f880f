"""funnel-analysis."""
