"""A bad setting stops start-up with one line naming the variable."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.logging_setup import RedactFilter

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BOT_TOKEN", "not-a-token"),
        ("STAFF_USER_IDS", "12,abc"),
        ("STAFF_CHAT_ID", "group"),
        ("DEFAULT_LANGUAGE", "xx"),
        ("WEBHOOK_LISTEN", "8080"),
        ("WEBHOOK_SECRET", "has spaces!"),
        ("REMINDER_DELAY_HOURS", "-1"),
    ],
)
def test_malformed_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_lists_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAFF_USER_IDS", "1, 2,3")
    monkeypatch.setenv("ADMIN_USER_IDS", "4")
    settings = load_settings()
    assert settings.staff_user_ids == [1, 2, 3]
    assert settings.staff_ids == {1, 2, 3, 4}
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.bot_api_base_url == "https://api.telegram.org/bot"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("STAFF_CHAT_ID=-1005\nDEFAULT_LANGUAGE=zh-Hant\n")
    settings = load_settings()
    assert settings.staff_chat_id == -1005
    assert settings.default_language == "zh-Hant"


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k.isupper() and not k.startswith(("BOT_", "STAFF", "WEBHOOK", "DATABASE", "SMTP_", "EMAIL_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_reports_bad_setting_in_one_line(tmp_path: Path) -> None:
    result = _cli(tmp_path, "run", BOT_TOKEN="12345")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("configuration error: BOT_TOKEN: ")
    assert "Traceback" not in result.stderr


def test_cli_run_without_token_says_so(tmp_path: Path) -> None:
    result = _cli(tmp_path, "run")
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: BOT_TOKEN: not set (get one from @BotFather)"


def test_cli_run_refuses_to_start_without_smtp_unless_verification_is_off(tmp_path: Path) -> None:
    result = _cli(tmp_path, "run", BOT_TOKEN="123:abcdefgh")
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: SMTP_HOST: not set")
    assert "EMAIL_VERIFICATION=off" in result.stderr and "Traceback" not in result.stderr
    result = _cli(tmp_path, "run", BOT_TOKEN="123:abcdefgh", SMTP_HOST="mail.example.com")
    assert result.stderr.startswith("configuration error: SMTP_FROM: not set")
    settings = load_settings(_env_file=None, email_verification="off")
    settings.require_mail()  # off: no SMTP needed (and none is used)
    assert not settings.mail_enabled and not settings.verify_email
    smtp = load_settings(_env_file=None, smtp_host="h", smtp_from="a@b.c", smtp_security="tls")
    assert smtp.mail_enabled and smtp.smtp_port_or_default == 465
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        load_settings(_env_file=None, smtp_security="ssl")


def test_cli_webhook_needs_public_url(tmp_path: Path) -> None:
    result = _cli(tmp_path, "run", "--webhook", BOT_TOKEN="123:abcdefgh")
    assert result.returncode == 2
    assert "WEBHOOK_PUBLIC_URL" in result.stderr


@pytest.mark.parametrize(
    "command", [[], ["run"], ["demo"], ["emulator"], ["db", "upgrade"], ["catalogue", "load"], ["promotions", "load"]]
)
def test_every_subcommand_has_help(tmp_path: Path, command: list[str]) -> None:
    result = _cli(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m bot" in result.stdout


def test_token_is_redacted_from_log_records() -> None:
    token = "123456:SECRET-TOKEN"
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "POST %s", (f"https://api.telegram.org/bot{token}/getMe",), None
    )
    RedactFilter([token]).filter(record)
    assert token not in record.getMessage()
    assert "<redacted>" in record.getMessage()
