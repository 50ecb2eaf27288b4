"""Changes made by management commands are logged as the command's (`manage.py <name>`).

Django has no signal around a command, so `BaseCommand.execute` (the one method both
`manage.py` and `call_command()` go through) is wrapped once at start-up: the command's
changes get channel "command" and the command's name as who. A command run inside another
keeps the outer one's context (auditlog's context cannot nest).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import wraps
from typing import Any

from auditlog.context import set_extra_data
from django.core.management.base import BaseCommand

from audit.models import Channel

_inside_command: ContextVar[bool] = ContextVar("audit_inside_command", default=False)


def command_name(command: BaseCommand) -> str:
    return f"manage.py {type(command).__module__.rpartition('.')[2]}"


def audit_every_command() -> None:
    execute = BaseCommand.execute
    if getattr(execute, "audited", False):
        return

    @wraps(execute)
    def audited_execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        if _inside_command.get():
            return execute(self, *args, **options)
        outer = _inside_command.set(True)
        context = {"actor": None, "actor_name": command_name(self), "channel": Channel.COMMAND}
        try:
            with set_extra_data(context_data=context):
                return execute(self, *args, **options)
        finally:
            _inside_command.reset(outer)

    audited_execute.audited = True  # type: ignore[attr-defined]
    BaseCommand.execute = audited_execute  # type: ignore[method-assign]
