from ..cli import run
from .runner import main

if __name__ == "__main__":
    run(main, prog="python -m spt.evaluation")
