"""`python -m omnistock`: the `omnistock` command."""

from omnistock.cli import app

app(prog_name="omnistock")
