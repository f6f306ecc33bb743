"""Core commands: organisations, accounts, the demo region, the scheduler."""

from __future__ import annotations

from flask import Flask


def register_core_commands(app: Flask) -> None:
    pass
