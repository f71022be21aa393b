"""Progress bars on stderr (tqdm), off when stderr is not a terminal or when asked."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=None if enabled else True,
                dynamic_ncols=True, leave=False)
