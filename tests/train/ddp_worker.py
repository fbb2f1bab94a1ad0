"""One process of the 2-process DDP test (run under torchrun): train, then dump this rank's
final weights so the test can compare ranks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from safetensors.torch import save_file

from maskgmt.train.config import config_from_dict
from maskgmt.train.loop import train

if __name__ == "__main__":
    cache_dir, out_dir, overrides = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    result = train(config_from_dict(overrides), data_dir=cache_dir, out_dir=out_dir)
    rank = int(os.environ["RANK"])
    state = {k: v.contiguous() for k, v in result.model.state_dict().items()}
    save_file(state, str(out_dir / f"weights_rank{rank}.safetensors"))
