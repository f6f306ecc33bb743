"""The demo region (being written)."""

import click

demo_cli = click.Group("demo", help="De demoregio.")
