"""`childsafe block ...`: placeholder until the block context lands."""

import typer

app = typer.Typer(help="Block: URL list sync, matching and filtering for ISPs.", no_args_is_help=True)
