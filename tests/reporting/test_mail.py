"""Summary mails after a run: a real SMTP server on 127.0.0.1 (aiosmtpd), started by the test."""

import email
import json
import socket
import time
from email import policy

import pytest

from funnel_analysis.reporting.config import ReportConfigError, load_report_config
from funnel_analysis.reporting.mail import (  # MailSettings lives in config; mail re-exports it
    MailSettings,
    send_summary,
)
from tests.reporting.test_dashboard import HEADLINE, _publish

aiosmtpd = pytest.importorskip("aiosmtpd", reason="aiosmtpd (the dev extra) runs the local SMTP server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-pw")

    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield controller.port, inbox, logins
    controller.stop()


def _run(tmp_path):
    folder = _publish(
        tmp_path,
        "funnel",
        {"headline": HEADLINE},
        data_freshness={"as_of": "2025-11-15T23:59:59Z", "age_days": 2.4, "stale": False},
    )
    return folder, json.loads((folder / "manifest.json").read_text())


def test_the_summary_goes_to_the_subscribers_with_cards_and_link(smtp, tmp_path):
    port, inbox, _ = smtp
    folder, manifest = _run(tmp_path)
    settings = MailSettings(host="127.0.0.1", port=port, sender="reports@acme.example", base_url="https://r.acme/x/")
    lines = []
    assert send_summary(tmp_path, folder, manifest, settings=settings, recipients=["vp@acme.example"], log=lines.append)
    (rcpt, msg), *_ = inbox.messages
    assert (
        rcpt == ["vp@acme.example"] and msg["Subject"] == "Funnel 2025-11-15" and msg["From"] == "reports@acme.example"
    )
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Win rate this quarter: 21.2 % (95 % interval 10.5–38.0)" in text  # the recorded value, formatted
    assert "Open pipeline: €9,076,612" in text and "Data as of 2025-11-15 23:59 UTC" in text
    assert "https://r.acme/x/funnel/2025-11-15/funnel.html" in text
    assert lines == ["mail funnel: sent to 1 recipient(s)"]


def test_the_page_can_be_attached(smtp, tmp_path):
    port, inbox, _ = smtp
    folder, manifest = _run(tmp_path)
    settings = MailSettings(host="127.0.0.1", port=port, attach=True)
    assert send_summary(tmp_path, folder, manifest, settings=settings, recipients=["a@b.example"], log=lambda _: None)
    (_, msg), *_ = inbox.messages
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "funnel.html" and att.get_content() == "<html></html>"


def test_credentials_come_from_the_environment_and_are_never_logged(smtp, tmp_path, monkeypatch):
    port, inbox, logins = smtp
    folder, manifest = _run(tmp_path)
    settings = MailSettings(host="127.0.0.1", port=port, retries=0, timeout_s=2)
    monkeypatch.setenv("FUNNEL_SMTP_USER", "reports")
    monkeypatch.setenv("FUNNEL_SMTP_PASSWORD", "s3cret-pw")
    lines = []
    assert send_summary(tmp_path, folder, manifest, settings=settings, recipients=["a@b.example"], log=lines.append)
    assert logins == [(b"reports", b"s3cret-pw")] and len(inbox.messages) == 1
    monkeypatch.setenv("FUNNEL_SMTP_PASSWORD", "wrong-pw-123")
    assert not send_summary(tmp_path, folder, manifest, settings=settings, recipients=["a@b.example"], log=lines.append)
    assert len(inbox.messages) == 1 and "not sent after 1 tries" in lines[-1]
    assert not any("s3cret-pw" in x or "wrong-pw-123" in x for x in lines)


def test_a_failed_send_is_retried_logged_and_leaves_the_run_as_it_was(tmp_path):
    folder, manifest = _run(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    waits, lines = [], []
    settings = MailSettings(host="127.0.0.1", port=_free_port(), retries=2, retry_wait_s=1.5, timeout_s=2)
    t0 = time.perf_counter()
    sent = send_summary(
        tmp_path, folder, manifest, settings=settings, recipients=["a@b.example"], log=lines.append, sleep=waits.append
    )
    assert not sent and waits == [1.5, 3.0] and time.perf_counter() - t0 < 10  # nobody listens: refused at once
    assert len(lines) == 3 and lines[0].startswith("mail funnel: try 1 failed (ConnectionRefusedError")
    assert lines[-1].endswith("the run is published as it is")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def _config(tmp_path, mail: str, subscribers: str = "[vp@acme.example]"):
    (tmp_path / "r.ipynb").write_text("{}")
    cfg = tmp_path / "reports.yaml"
    cfg.write_text(
        f"notebooks: .\n{mail}\nreports:\n  - {{name: funnel, notebook: r.ipynb, subscribers: {subscribers}}}\n"
    )
    return cfg


def test_the_config_names_subscribers_and_mail(tmp_path):
    (spec,) = load_report_config(_config(tmp_path, "mail: {host: smtp.acme.example, port: 587, starttls: true}"))
    assert spec.subscribers == ("vp@acme.example",)
    assert (spec.mail.host, spec.mail.port, spec.mail.starttls) == ("smtp.acme.example", 587, True)


@pytest.mark.parametrize(
    ("mail", "subscribers", "message"),
    [
        ("mail: {host: x, password: hunter2}", "[a@b.example]", "'password' looks like a secret"),
        ("mail: {host: x, prot: 25}", "[a@b.example]", "unknown key 'prot'"),
        ("mail: {host: x, port: '25'}", "[a@b.example]", r"mail.port: expected int"),
        ("", "[a@b.example]", "subscribers need the config's mail"),
        ("mail: {host: x}", "[not-an-address]", "subscribers: expected a list of e-mail addresses"),
    ],
)
def test_a_bad_mail_config_is_one_clear_error(tmp_path, mail, subscribers, message):
    with pytest.raises(ReportConfigError, match=message):
        load_report_config(_config(tmp_path, mail, subscribers))


def test_a_scheduled_run_mails_its_subscribers(smtp, tmp_path, tiny_export, monkeypatch):
    """``funnel report due``'s path: the run is published, then its subscribers get the summary."""
    from datetime import UTC, datetime

    import nbformat

    from funnel_analysis.reporting import runner as reports

    port, inbox, _ = smtp
    monkeypatch.setattr(reports, "_execute", lambda spec, ipynb, params, progress, timeout: (None, None))
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('data_dir: str = ""', metadata={"tags": ["parameters"]})]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "t.ipynb")
    (tmp_path / "r.yaml").write_text(
        f"notebooks: .\nmail: {{host: 127.0.0.1, port: {port}, sender: r@acme.example}}\nreports:\n"
        f"  - {{name: weekly, notebook: t.ipynb, schedule: '0 6 * * *', subscribers: [vp@acme.example],"
        f" parameters: {{data_dir: {tiny_export}}}}}\n"
    )
    lines = []
    now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    res = reports.run_due(tmp_path / "r.yaml", out_dir=tmp_path / "out", now=now, log=lines.append)
    assert [r.name for r in res.runs] == ["weekly"]
    (rcpt, msg), *_ = inbox.messages
    assert rcpt == ["vp@acme.example"] and msg["Subject"].startswith("Weekly ")
    assert "mail weekly: sent to 1 recipient(s)" in lines
