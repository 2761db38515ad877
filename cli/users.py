"""``sohoa users``: accounts of the web app (add, list, disable, passwords, roles, API tokens).

Passwords are never command-line arguments (they would sit in the shell history
and in ``ps``): they are asked for twice without echo, or read from
``--password-file`` (``-`` for standard input, one trailing newline dropped).
Each change is written to the audit log with the OS user as its author. The
functions behind these commands (:mod:`services.users`) are those the
admin pages call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sohoa.errors import InvalidRequestError
from sohoa.messages import t

users_app = typer.Typer(no_args_is_help=True, help="Tài khoản giao diện web / Web app accounts")

RoleOption = Annotated[str, typer.Option("--role", help="clerk | auditor | admin")]
UnitOption = Annotated[
    str | None, typer.Option("--unit", help="Chỉ hồ sơ của đơn vị này / only this unit's records")
]
PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file", help="Tệp chứa mật khẩu, - là stdin / file holding it, - stdin"
    ),
]
AsJson = Annotated[bool, typer.Option("--json")]


def _read_password(password_file: Path | None) -> str:
    """The new password: from the file, or typed twice without echo."""
    if password_file is None:
        return typer.prompt(
            t("users_password_prompt"),
            hide_input=True,
            confirmation_prompt=t("users_password_again"),
        )
    try:
        raw = sys.stdin.read() if str(password_file) == "-" else password_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            "password_file", file=str(password_file), reason=type(exc).__name__
        ) from None
    return raw.removesuffix("\n").removesuffix("\r")


def _print_json(data: object) -> None:
    from cli.common import out

    out.print_json(json.dumps(data, ensure_ascii=False))


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Tên đăng nhập / user name")],
    role: RoleOption,
    unit: UnitOption = None,
    password_file: PasswordFile = None,
    as_json: AsJson = False,
) -> None:
    """Tạo tài khoản / Create an account."""
    from cli.common import guard, load_settings, out
    from services import users as user_service

    settings = guard(load_settings)
    password = guard(lambda: _read_password(password_file))
    actor = user_service.cli_actor()
    user = guard(
        lambda: user_service.add_user(settings, name, password, role=role, unit=unit, actor=actor)
    )
    if as_json:
        _print_json(user)
    else:
        out.print(t("users_added", name=user["name"], role=user["role"]), highlight=False)


@users_app.command("list")
def list_users(as_json: AsJson = False) -> None:
    """Danh sách tài khoản / List accounts."""
    from cli.common import console, guard, load_settings, out
    from services import users as user_service

    found = guard(lambda: user_service.list_users(load_settings()))
    if as_json:
        _print_json(found)
        return
    if not found:
        console.print(t("users_none"))
        return
    table = Table(title=t("users_title", n=len(found)))
    for col in ("name", "role", "unit", "active", "created", "tokens"):
        table.add_column(t(f"users_col_{col}"))
    for user in found:
        table.add_row(
            user["name"],
            user["role"],
            user["unit"] or "—",
            "✓" if user["active"] else "✗",
            user["created_at"][:10],
            str(user["tokens"]),
        )
    out.print(table)


def _set_active(name: str, active: bool) -> None:
    from cli.common import guard, load_settings, out
    from services import users as user_service

    actor = user_service.cli_actor()
    user = guard(lambda: user_service.set_active(load_settings(), name, active, actor=actor))
    out.print(t("users_enabled" if active else "users_disabled", name=user["name"]))


@users_app.command("disable")
def disable(name: Annotated[str, typer.Argument()]) -> None:
    """Khóa tài khoản, kết thúc các phiên / Disable an account and end its sessions."""
    _set_active(name, False)


@users_app.command("enable")
def enable(name: Annotated[str, typer.Argument()]) -> None:
    """Mở khóa tài khoản / Enable an account."""
    _set_active(name, True)


@users_app.command("password")
def password(name: Annotated[str, typer.Argument()], password_file: PasswordFile = None) -> None:
    """Đặt mật khẩu mới / Set a new password (ends the account's sessions)."""
    from cli.common import guard, load_settings, out
    from services import users as user_service

    settings = guard(load_settings)
    new = guard(lambda: _read_password(password_file))
    actor = user_service.cli_actor()
    user = guard(lambda: user_service.reset_password(settings, name, new, actor=actor))
    out.print(t("users_password_set", name=user["name"]))


@users_app.command("role")
def set_role(
    name: Annotated[str, typer.Argument()], role: RoleOption, unit: UnitOption = None
) -> None:
    """Đổi vai trò và đơn vị / Change the role and unit (no --unit: every unit)."""
    from cli.common import guard, load_settings, out
    from services import users as user_service

    actor = user_service.cli_actor()
    user = guard(
        lambda: user_service.set_role(load_settings(), name, role=role, unit=unit, actor=actor)
    )
    unit_text = user["unit"] or t("web_unit_all")
    out.print(t("users_role_set", name=user["name"], role=user["role"], unit=unit_text))


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument()],
    label: Annotated[str, typer.Option("--name", help="Tên mã / token label")],
    scope: Annotated[
        str,
        typer.Option(
            "--scope", help="full: như vai trò / as the role; read: chỉ đọc (GET) / read-only"
        ),
    ] = "full",
    days: Annotated[
        int | None,
        typer.Option("--days", help="Hết hạn sau N ngày (mặc định web.token_days=90) / expiry"),
    ] = None,
    no_expiry: Annotated[
        bool, typer.Option("--no-expiry", help="Không bao giờ hết hạn / never expires")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Tạo mã API (chỉ hiện một lần) / Create an API token (printed once)."""
    from cli.common import console, guard, load_settings, out
    from services import users as user_service

    actor = user_service.cli_actor()
    made = guard(
        lambda: user_service.create_token(
            load_settings(), name, label, actor=actor, scope=scope, days=days, expires=not no_expiry
        )
    )
    if as_json:
        _print_json(made)
        return
    console.print(t("users_token_created", name=made["name"], user=made["user"]))
    if made["expires_at"] is None:
        console.print(t("users_token_forever", scope=made["scope"]))
    else:
        console.print(t("users_token_until", scope=made["scope"], at=_minute(made["expires_at"])))
    out.print(made["token"], highlight=False, soft_wrap=True)


def _minute(iso: str) -> str:
    """An ISO 8601 instant from the service (UTC) to the minute, for a table cell."""
    return iso[:16].replace("T", " ")


def _expiry_cell(item: dict) -> str:
    """When a token expires, "never", or the moment it expired, marked so."""
    if item["expires_at"] is None:
        return t("users_token_never")
    at = _minute(item["expires_at"])
    return t("users_token_expired", at=at) if item["expired"] else at


@users_app.command("tokens")
def tokens(name: Annotated[str, typer.Argument()], as_json: AsJson = False) -> None:
    """Danh sách mã API của tài khoản / List an account's API tokens."""
    from cli.common import console, guard, load_settings, out
    from services import users as user_service

    found = guard(lambda: user_service.list_tokens(load_settings(), name))
    if as_json:
        _print_json(found)
        return
    if not found:
        console.print(t("users_tokens_none", user=name))
        return
    table = Table()
    for col in ("token", "scope", "created", "expires", "last_used", "revoked"):
        table.add_column(t(f"users_col_{col}"))
    for item in found:
        table.add_row(
            item["name"],
            item["scope"],
            _minute(item["created_at"]),
            _expiry_cell(item),
            _minute(item["last_used_at"] or "—"),
            _minute(item["revoked_at"] or "—"),
        )
    out.print(table)


@users_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument()],
    label: Annotated[str, typer.Option("--name", help="Tên mã / token label")],
) -> None:
    """Thu hồi mã API / Revoke an API token."""
    from cli.common import guard, load_settings, out
    from services import users as user_service

    actor = user_service.cli_actor()
    done = guard(lambda: user_service.revoke_token(load_settings(), name, label, actor=actor))
    out.print(t("users_token_revoked", name=done["name"]))
