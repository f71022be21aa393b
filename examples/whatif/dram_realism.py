"""What do DRAM's overheads cost? The ZCU102 preset at its peak bandwidth with exact bytes (the
template's defaults) against 80 % sustained efficiency and 64-byte bursts for the random reads
of message-buffer misses (DDR4 moves 64 bytes per burst of a 64-bit channel; the efficiency is
an assumed, typical figure for a streaming controller, not a measurement of this board).

The ZCU102 is bound by its 19.2 GB/s, so the efficiency shows almost one for one. The bursts
cost only where the message buffer misses and a message is not a whole number of bursts: a
256-unit 4-bit message is 128 bytes, two bursts exactly, so here they change nothing.

Run: python examples/whatif/dram_realism.py [--dataset pubmed] [--archs gcn-w8a8,gat-w4a8]
"""

from common import compare, parse_args

from hwsim.target import load_target

if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], default_archs="gcn-w8a8,gcn256-w4a4,gat-w4a8")
    ideal = load_target("zcu102")
    compare(args, ideal, ideal.with_changes(dram_efficiency=0.8, dram_burst_bytes=64), "peak, exact bytes",
            "80 %, 64-byte bursts")
