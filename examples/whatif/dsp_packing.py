"""What does packing several low-bit MACs into one DSP buy? ZCU102 with its packing rules
(2 MACs at 8 bit, 4 at 4 bit) against the same device computing one MAC per DSP at every width.

Packing multiplies the output columns the PE array computes per cycle, so it pays off when a
layer is wider than the array (pe_cols = 64 here) and compute, not DRAM, bounds the phase.

Run: python examples/whatif/dsp_packing.py [--dataset pubmed] [--archs gcn256-w4a4]
"""

from common import compare, parse_args

from hwsim.target import load_target

if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], default_archs="gcn-w8a8,gcn256-w4a4,gat-w4a8")
    packed = load_target("zcu102")
    unpacked = packed.with_changes(packing={"dsp_macs": {4: 1, 8: 1, 16: 1, 32: 0.5}})
    compare(args, unpacked, packed, "one MAC per DSP", "packed (zcu102)")
