"""The scheduler (being written)."""

import click

scheduler_cli = click.Group("scheduler", help="De planner: periodieke taken.")
