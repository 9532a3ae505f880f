"""funnel init: the files it writes, the refusal to overwrite, --copy-notebooks; every command then runs in
the project (the walk-up from a subfolder, --project, FUNNEL_PROJECT), and a bad profile is exit 2."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from funnel_analysis.cli import main
from funnel_analysis.project import ProjectExistsError, init_project, packaged_notebooks
from funnel_analysis.reporting.config import load_report_config

NOTEBOOKS = sorted(p.name for p in packaged_notebooks().glob("*.ipynb"))


def test_init_writes_the_project_files(tmp_path):
    folder = init_project(tmp_path / "acme")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "data", "profile.yaml", "reports", "reports.yaml"]
    config = yaml.safe_load((folder / "reports.yaml").read_text())
    assert (config["profile"], config["notebooks"]) == ("profile.yaml", "packaged")
    assert "acme" in (folder / "README.md").read_text() and "funnel report run" in (folder / "README.md").read_text()
    # the config runs the installed notebooks, and no entry repeats data_dir
    specs = load_report_config(folder / "reports.yaml")
    assert {s.notebook.parent for s in specs} == {packaged_notebooks()}
    assert all("data_dir" not in s.parameters for s in specs)
    assert {s.defaults["data_dir"] for s in specs} == {str(folder / "data" / "salesforce")}


def test_init_refuses_an_existing_project_and_writes_nothing(tmp_path):
    folder = init_project(tmp_path / "acme")
    (folder / "profile.yaml").write_text("name: mine\n")
    (folder / "reports.yaml").unlink()
    with pytest.raises(
        ProjectExistsError, match=r"acme is already a project \(profile.yaml exists\); nothing was written"
    ):
        init_project(folder)
    assert (folder / "profile.yaml").read_text() == "name: mine\n" and not (folder / "reports.yaml").exists()


def test_init_into_an_existing_folder_without_a_project_is_fine(tmp_path):
    (tmp_path / "acme" / "data").mkdir(parents=True)
    (tmp_path / "acme" / "data" / "Lead.csv").write_text("Id\n")
    init_project(tmp_path / "acme")
    assert (tmp_path / "acme" / "data" / "Lead.csv").read_text() == "Id\n"


def test_copy_notebooks_copies_them_and_points_the_config_at_the_copies(tmp_path):
    folder = init_project(tmp_path / "acme", copy_notebooks=True)
    assert sorted(p.name for p in (folder / "notebooks").glob("*.ipynb")) == NOTEBOOKS
    assert (folder / "notebooks" / "funnel.ipynb").read_bytes() == (packaged_notebooks() / "funnel.ipynb").read_bytes()
    specs = load_report_config(folder / "reports.yaml")
    assert {s.notebook.parent for s in specs} == {folder / "notebooks"}


def _sample_export(folder):
    """A tiny export: one USD-corporate CurrencyType and nothing else the commands below need."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CurrencyType.csv").write_text("IsoCode,IsCorporate\nUSD,true\n")


def test_cli_init_and_its_refusal(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["init", str(tmp_path / "acme")])
    assert first.exit_code == 0 and f"project: {tmp_path / 'acme'}" in first.output
    again = runner.invoke(main, ["init", str(tmp_path / "acme")])
    assert again.exit_code == 2
    assert again.output.strip().splitlines() == [
        f"error: {tmp_path / 'acme'} is already a project (profile.yaml exists); nothing was written"
    ]
    copied = runner.invoke(main, ["init", "--copy-notebooks", str(tmp_path / "beta")])
    assert copied.exit_code == 0 and (tmp_path / "beta" / "notebooks" / "funnel.ipynb").is_file()


def test_commands_find_the_project_walking_up_or_with_project(tmp_path, monkeypatch):
    folder = init_project(tmp_path / "acme")
    (folder / "profile.yaml").write_text("currency: USD\nfiscal_year: {start_month: 4}\n")
    _sample_export(folder / "data" / "salesforce")
    runner = CliRunner()
    monkeypatch.delenv("FUNNEL_PROJECT", raising=False)
    monkeypatch.chdir(folder / "reports")  # below the project
    here = runner.invoke(main, ["profile"])
    assert here.exit_code == 0, here.output
    assert f"profile: {folder / 'profile.yaml'}" in here.output and "fiscal year starts in month 4" in here.output
    monkeypatch.chdir(tmp_path)  # outside it: --project, or FUNNEL_PROJECT
    assert runner.invoke(main, ["profile"]).exit_code == 2
    given = runner.invoke(main, ["--project", str(folder), "profile"])
    assert given.exit_code == 0 and "currency: USD" in given.output
    env = runner.invoke(main, ["profile"], env={"FUNNEL_PROJECT": str(folder)})
    assert env.exit_code == 0 and "currency: USD" in env.output


def test_project_defaults_reach_sample_and_report(tmp_path, monkeypatch):
    from funnel_analysis.cli.app import Project, _project_defaults
    from funnel_analysis.project import load_profile

    folder = init_project(tmp_path / "acme")
    defaults = _project_defaults(Project(folder, load_profile(folder / "profile.yaml")))
    assert defaults["sample"] == {"out": str(folder / "data" / "salesforce")}
    expected = {"config": str(folder / "reports.yaml"), "out": str(folder / "reports")}
    assert defaults["report"]["run"] == expected and defaults["report"]["due"] == expected
    # the report command reads them: an unknown report name is refused by the project's config
    monkeypatch.chdir(folder)
    out = CliRunner().invoke(main, ["report", "run", "--only", "nope"])
    assert out.exit_code == 2 and "no report named 'nope'" in out.output


def test_project_is_not_a_project(tmp_path):
    out = CliRunner().invoke(main, ["--project", str(tmp_path), "profile"])
    assert out.exit_code == 2
    assert (
        out.output.strip() == f"error: {tmp_path.resolve()}: not a project (no profile.yaml); funnel init DIR makes one"
    )


def test_a_bad_profile_is_one_line_and_exit_2_for_every_command(tmp_path, monkeypatch):
    folder = init_project(tmp_path / "acme")
    (folder / "profile.yaml").write_text("fiscal_year: {start_month: 13}\n")
    monkeypatch.chdir(folder)
    for args in (["profile"], ["check"], ["report", "run"], ["kpis"]):
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 2, args
        assert out.output.strip() == (
            f"error: {folder / 'profile.yaml'}: fiscal_year.start_month: expected a whole number from 1 to 12, got 13"
        ), args
        assert out.exception is None or isinstance(out.exception, SystemExit)


def test_a_currency_that_is_not_the_orgs_is_one_line(tmp_path, monkeypatch):
    folder = init_project(tmp_path / "acme")
    (folder / "profile.yaml").write_text("currency: EUR\n")
    _sample_export(folder / "data" / "salesforce")
    monkeypatch.chdir(folder)
    for args in (["profile"], ["report", "run", "--only", "funnel"]):
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 2, args
        assert len(out.output.strip().splitlines()) == 1, out.output
        assert "profile.yaml: currency: expected the org's corporate currency USD" in out.output


def test_check_in_a_project_without_data_says_where_the_data_goes(tmp_path, monkeypatch):
    folder = init_project(tmp_path / "acme")
    monkeypatch.chdir(folder)
    out = CliRunner().invoke(main, ["check"])
    assert out.exit_code == 2
    assert f"data_dir: {folder / 'data' / 'salesforce'} does not exist" in out.output


def test_check_outside_a_project_needs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(main, ["check"])
    assert out.exit_code == 2 and "no FOLDER given and no project here" in out.output
