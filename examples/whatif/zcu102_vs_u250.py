"""The same networks on an embedded board (ZCU102) and a data-center card (Alveo U250).

Run: python examples/whatif/zcu102_vs_u250.py [--dataset pubmed] [--archs gcn,gat-w4a8]
"""

from common import compare, parse_args

from hwsim.target import load_target

if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0])
    compare(args, load_target("zcu102"), load_target("u250"), "zcu102", "u250")
