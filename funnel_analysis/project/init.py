"""``funnel init DIR``: a project folder of one's own, outside any clone of the repository.

A project is a folder with the org profile (``profile.yaml``, :mod:`.profile`), the report config
(``reports.yaml``: the packaged notebooks, or copies in ``notebooks/`` to customise), ``data/`` (the
org's export or Parquet store), ``reports/`` (the published runs) and a short ``README.md``. Every
``funnel`` command run in the folder, or below it, or with ``--project DIR``, reads them.

Examples
--------
>>> import tempfile, pathlib
>>> folder = init_project(pathlib.Path(tempfile.mkdtemp()) / "acme")
>>> sorted(p.name for p in folder.iterdir())
['README.md', 'data', 'profile.yaml', 'reports', 'reports.yaml']
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from .profile import PROFILE_FILE

__all__ = ["CONFIG_FILE", "ProjectExistsError", "packaged_notebooks", "init_project"]

#: The project's report config file.
CONFIG_FILE = "reports.yaml"

_README = """# {name}: funnel analysis of our Salesforce org

Made by `funnel init`. What is here:

- `profile.yaml`: the org profile (data folder, corporate currency, fiscal year, which opportunity types are
  new business, renewal or expansion, the working calendar, the instance URL). Every report reads it.
- `reports.yaml`: which reports run, with which parameters, on which schedule ({notebooks}).
- `data/`: the org's data (`funnel sample` writes a made-up org to the profile's `data_dir`, for a first look).
- `reports/`: the published reports; `reports/index.html` is the front page.

Run every command in this folder (or below it), or from elsewhere with `funnel --project {folder}`:

```console
funnel sample --scale 0.2            # a small made-up org in the profile's data_dir (skip with real data)
funnel check                         # load and validate the org in data_dir
funnel report run                    # every report into reports/, then open reports/index.html
funnel report due                    # what cron runs: the reports whose schedule has come
```
"""


class ProjectExistsError(FileExistsError):
    """``funnel init`` was pointed at a folder that already holds a project (nothing is written)."""


def packaged_notebooks() -> Path:
    """The folder of the report notebooks installed with the package (``funnel_analysis.notebooks``).

    In a wheel they are package data; in an editable install (a clone) the package name maps to the
    repository's ``notebooks/`` folder, so both read the same files through :mod:`importlib.resources`.

    Returns
    -------
    pathlib.Path
        The folder, absolute.

    Raises
    ------
    FileNotFoundError
        When the package was installed without its notebooks (or from a zip archive).

    Examples
    --------
    >>> (packaged_notebooks() / "funnel.ipynb").is_file()
    True
    """
    try:
        folder = Path(str(resources.files("funnel_analysis.notebooks")))
    except ModuleNotFoundError:
        folder = None
    if folder is None or not folder.is_dir():
        raise FileNotFoundError(
            "the package's report notebooks (funnel_analysis.notebooks) are not installed: reinstall "
            "funnel-analysis from its wheel, or name a folder of notebooks in the report config"
        )
    return folder.resolve()


def _config_text(copy_notebooks: bool) -> str:
    """The packaged report config, rewritten for a project: its profile, and where its notebooks are."""
    text = (resources.files("funnel_analysis.reporting") / "reports.yaml").read_text(encoding="utf-8")
    line = "notebooks: packaged\n"
    if text.count(line) != 1:  # pragma: no cover - the packaged file and this function change together
        raise RuntimeError("funnel_analysis/reporting/reports.yaml has no single 'notebooks: packaged' line")
    where = "notebooks: notebooks  # the copies in this project: edit them freely\n" if copy_notebooks else line
    return text.replace(line, f"profile: {PROFILE_FILE}\n{where}")


def init_project(folder, *, copy_notebooks: bool = False, name: str = "") -> Path:
    """Create a project folder: ``profile.yaml``, ``reports.yaml``, ``data/``, ``reports/``, ``README.md``.

    Parameters
    ----------
    folder : path-like
        The project folder; created when missing. An existing folder is fine unless it already
        holds a project file.
    copy_notebooks : bool
        Copy the report notebooks into ``<folder>/notebooks/`` and point the config at them (to
        customise them); default False: the config runs the notebooks installed with the package.
    name : str
        The project's name for its README (default the folder's name).

    Returns
    -------
    pathlib.Path
        The project folder, absolute.

    Raises
    ------
    ProjectExistsError
        When the folder already has a ``profile.yaml``, ``reports.yaml`` or ``README.md`` (or a
        ``notebooks/`` folder with ``copy_notebooks``): nothing is overwritten, nothing written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = init_project(pathlib.Path(tempfile.mkdtemp()), copy_notebooks=True)
    >>> (folder / "notebooks" / "funnel.ipynb").is_file()
    True
    >>> init_project(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    funnel_analysis.project.init.ProjectExistsError: ... is already a project (profile.yaml exists); nothing was written
    """
    folder = Path(folder).resolve()
    planned = [PROFILE_FILE, CONFIG_FILE, "README.md", *(["notebooks"] if copy_notebooks else [])]
    taken = [p for p in planned if (folder / p).exists()]
    if taken:
        raise ProjectExistsError(f"{folder} is already a project ({taken[0]} exists); nothing was written")
    source = packaged_notebooks() if copy_notebooks else None
    folder.mkdir(parents=True, exist_ok=True)
    profile = (resources.files("funnel_analysis.project") / "profile.yaml").read_text(encoding="utf-8")
    (folder / PROFILE_FILE).write_text(profile, encoding="utf-8")
    (folder / CONFIG_FILE).write_text(_config_text(copy_notebooks), encoding="utf-8")
    where = (
        "the notebooks in notebooks/, yours to edit" if copy_notebooks else "the notebooks installed with the package"
    )
    (folder / "README.md").write_text(
        _README.format(name=name or folder.name, notebooks=where, folder=folder), encoding="utf-8"
    )
    for sub in ("data", "reports"):
        (folder / sub).mkdir(exist_ok=True)
    if source is not None:
        (folder / "notebooks").mkdir()
        for nb in sorted(source.glob("*.ipynb")):
            shutil.copy2(nb, folder / "notebooks" / nb.name)
    return folder
