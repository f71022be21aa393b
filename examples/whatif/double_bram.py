"""What if the ZCU102 had twice the block RAM? Same networks, same graph, before and after.

Run: python examples/whatif/double_bram.py [--dataset pubmed] [--archs gcn,gat]
"""

from common import compare, parse_args

from hwsim.target import load_target

if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], default_dataset="physics")
    zcu102 = load_target("zcu102")
    compare(args, zcu102, zcu102.with_changes(bram_kib=2 * zcu102.bram_kib), "zcu102", "zcu102, 2x BRAM")
