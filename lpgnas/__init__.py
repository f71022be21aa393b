"""lpgnas-hw: differentiable architecture and bit-width search for low-precision GNNs, with an
accelerator cost model in the loss."""

import os

__version__ = "0.2.0"

# Large tensors on transparent huge pages. torch's CPU allocator asks the kernel for huge pages
# (madvise) for allocations of 2 MB and more when THP_MEM_ALLOC_ENABLE is set, which it reads at
# its first large allocation, so setting it on import suffices. A search allocates full-size
# temporaries all the time (one Coauthor CS activation of 8 heads of 256 is 150 MB), each paying
# a page fault per 4 KB page when first touched: a fake-quantisation chain over such a tensor
# took 128-153 ms without and 45-69 ms with it (one thread). A value set by the user is kept.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
