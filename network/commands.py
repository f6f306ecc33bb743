"""Core commands: organisations and accounts (``schakel org``/``schakel account``), the demo
region (``schakel demo``) and the scheduler (``schakel scheduler``)."""

from __future__ import annotations

from flask import Flask


def register_core_commands(app: Flask) -> None:
    from network.demo import demo_cli
    from network.scheduler import scheduler_cli

    app.cli.add_command(demo_cli)
    app.cli.add_command(scheduler_cli)
