"""Subscriptions: after a scheduled run, a summary e-mail with the report's cards and a link to the page.

The report config names the recipients per report (``subscribers:``) and, once, how mail goes out
(``mail:``: the SMTP host and port, the sender, ``base_url`` for links, or ``attach: true`` to
attach the page). The mail carries the report's headline cards (:mod:`.dashboard`), read from what
the run recorded, and says the run's status and how fresh its data were.

Sending never fails or changes a published run: a refused connection or a server error is logged
in one line and retried (``retries`` times, waiting ``retry_wait_s`` seconds, doubling); after the
last try it is logged as not sent and the run stays as it was. Credentials come from the
environment only (``FUNNEL_SMTP_USER`` and ``FUNNEL_SMTP_PASSWORD``, or the names ``user_env`` /
``password_env`` give); a config key that looks like a secret is refused when the config is read.

Examples
--------
>>> settings = MailSettings(host="127.0.0.1", port=2525, sender="reports@acme.example")
>>> settings.port
2525
"""

from __future__ import annotations

import html
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from .config import MailSettings
from .dashboard import headline_cards
from .format import column_label

__all__ = ["MailSettings", "summary_message", "send_summary"]


def summary_message(
    out_dir, run_folder, manifest: dict, *, settings: MailSettings, recipients: Sequence[str]
) -> EmailMessage:
    """The summary mail of one published run: its status, its cards, the data's time, a link or the page.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    run_folder : path-like
        The published run's folder.
    manifest : dict
        The run's manifest.
    settings : MailSettings
        Sender, link base, attachment.
    recipients : sequence of str
        The To addresses.

    Returns
    -------
    email.message.EmailMessage
        A text and HTML message (every text escaped), with the page attached when
        ``settings.attach``.
    """
    out_dir, run_folder = Path(out_dir), Path(run_folder)
    report = str(manifest.get("report") or run_folder.parent.name)
    title = column_label(report)
    status = str(manifest.get("status"))
    cards = [c for c in headline_cards(out_dir).cards if c.report == report]
    page = run_folder / str(manifest.get("html") or "")
    link = ""
    if settings.base_url and manifest.get("html"):
        link = f"{settings.base_url.rstrip('/')}/{run_folder.relative_to(out_dir).as_posix()}/{manifest['html']}"
    fresh = manifest.get("data_freshness") if isinstance(manifest.get("data_freshness"), dict) else {}
    when = str(fresh.get("as_of") or "")
    data_line = f"Data as of {when[:10]} {when[11:16]} UTC" + (" (stale)" if fresh.get("stale") else "") if when else ""
    lines = [f"{title}, as of {manifest.get('as_of')}: {'ready' if status == 'ok' else 'FAILED'}"]
    lines += [f"{c.label}: {c.value}" + (f" ({c.interval})" if c.interval else "") for c in cards]
    lines += [x for x in (data_line, link and f"The report: {link}") if x]
    msg = EmailMessage()
    msg["Subject"] = f"{title} {manifest.get('as_of')}" + ("" if status == "ok" else f" ({status})")
    msg["From"] = settings.sender
    msg["To"] = ", ".join(recipients)
    msg.set_content("\n".join(lines) + "\n")
    e = html.escape
    items = "".join(
        f"<tr><td>{e(c.label)}</td><td><strong>{e(c.value)}</strong></td><td>{e(c.interval)}</td>"
        f"<td>{e(c.change)}</td></tr>"
        for c in cards
    )
    body = (
        f"<p>{e(lines[0])}</p>"
        + (f"<table>{items}</table>" if items else "")
        + (f"<p>{e(data_line)}</p>" if data_line else "")
        + (f'<p><a href="{e(link)}">Open the report</a></p>' if link else "")
    )
    msg.add_alternative(f"<html><body>{body}</body></html>", subtype="html")
    if settings.attach and page.is_file():
        msg.add_attachment(page.read_bytes(), maintype="text", subtype="html", filename=page.name)
    return msg


def send_summary(
    out_dir,
    run_folder,
    manifest: dict,
    *,
    settings: MailSettings,
    recipients: Sequence[str],
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Send the summary mail of a published run; never raise: a failure is logged and retried.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    run_folder : path-like
        The published run's folder.
    manifest : dict
        The run's manifest.
    settings : MailSettings
        The SMTP server, retries and credentials' environment variables.
    recipients : sequence of str
        The To addresses; none: nothing is sent.
    log : callable, optional
        Called with one line per failed try and on success; default: the
        ``funnel_analysis.reporting`` logger.
    sleep : callable, default time.sleep
        Waits between tries (the tests pass one that does not wait).

    Returns
    -------
    bool
        True when the server accepted the mail.
    """
    say = log or logging.getLogger("funnel_analysis.reporting").warning
    report = str(manifest.get("report") or Path(run_folder).parent.name)
    if not recipients:
        return False
    try:
        msg = summary_message(out_dir, run_folder, manifest, settings=settings, recipients=recipients)
    except Exception as exc:  # a mail that cannot be built must not touch the run either
        say(f"mail {report}: not sent: the summary could not be made ({type(exc).__name__}: {exc})")
        return False
    user = os.environ.get(settings.user_env, "")
    password = os.environ.get(settings.password_env, "")
    wait = settings.retry_wait_s
    for attempt in range(1, settings.retries + 2):
        try:
            connect = smtplib.SMTP_SSL if settings.tls else smtplib.SMTP
            kwargs = {"context": ssl.create_default_context()} if settings.tls else {}
            with connect(settings.host, settings.port, timeout=settings.timeout_s, **kwargs) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if user:
                    smtp.login(user, password)
                smtp.send_message(msg)
            say(f"mail {report}: sent to {len(recipients)} recipient(s)")
            return True
        except (OSError, smtplib.SMTPException) as exc:
            # the error's text, never the credentials (smtplib does not put them in its errors)
            error = (
                f"{type(exc).__name__}: {exc}".replace(password, "***") if password else f"{type(exc).__name__}: {exc}"
            )
            if attempt > settings.retries:
                say(f"mail {report}: not sent after {attempt} tries ({error}); the run is published as it is")
                return False
            say(f"mail {report}: try {attempt} failed ({error}); retrying in {wait:g} s")
            sleep(wait)
            wait *= 2
    return False
