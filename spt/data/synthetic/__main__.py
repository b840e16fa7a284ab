from ...cli import run
from .cli import main

run(main, prog="python -m spt.data.synthetic")
