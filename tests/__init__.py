"""The test suite: one folder per subpackage of funnel_analysis, helpers and shared fixtures here."""
