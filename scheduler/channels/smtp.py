"""E-mail over SMTP (optionally STARTTLS and a login): the alert's plain text."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Literal

from pydantic import Field

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels.base import Channel, ChannelError, ChannelSettings


class EmailSettings(ChannelSettings):
    type: Literal["email"]
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    sender: str
    to: tuple[str, ...] = Field(min_length=1)
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False


class EmailChannel(Channel[EmailSettings]):
    Settings = EmailSettings

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = alert.title
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(self.config.to)
        msg["X-Orderprobe-Incident"] = f"{alert.job}/{alert.kind}/{alert.incident_id}"
        msg.set_content(alert.text())
        return msg

    def send(self, alert: Alert) -> None:
        email, username = self.config, self.env.get("username_env", "")
        try:
            with smtplib.SMTP(email.host, email.port, timeout=email.timeout) as smtp:
                if email.starttls:
                    smtp.starttls()
                if username:
                    smtp.login(username, self.env.get("password_env", ""))
                smtp.send_message(self.message(alert))
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(self.redact(f"{type(exc).__name__}: {exc}")) from None
