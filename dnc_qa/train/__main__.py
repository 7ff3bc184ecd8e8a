"""``python -m dnc_qa.train ...``: the ``dncqa train`` command, usable under torchrun.

Example::

    torchrun --nproc-per-node 2 -m dnc_qa.train --task copy --model dnc --steps 200 --out runs/ddp
"""

import sys

from dnc_qa.cli.main import run

if __name__ == "__main__":
    run(["train", *sys.argv[1:]])
