"""The report notebooks, installed with the package as ``funnel_analysis.notebooks`` (pyproject.toml maps
this folder): :func:`funnel_analysis.project.init.packaged_notebooks` finds them through importlib.resources,
in a wheel and in an editable install alike. Nothing to import here."""
