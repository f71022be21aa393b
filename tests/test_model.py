from hw_strategies import archs
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.network import parse_arch
from lpgnas.nn.model import QuantGNN, buffer_size_bytes, model_size_bits

Q = {"weight": "q4", "feature": "q8", "message": "q8"}


def gcn(weight="q4", message="q8", attention="gcn", att_bits=None):
    quant = {"weight": weight, "feature": "q8", "message": message}
    if att_bits:
        quant["attention"] = att_bits
    return parse_arch({"layers": [
        {"attention": attention, "aggregation": "sum", "activation": "relu", "hidden": 16, "heads": 1, "quant": quant},
        {"attention": attention, "aggregation": "sum", "heads": 1, "quant": quant}]})


def test_model_size_by_hand():
    model = QuantGNN(gcn("q4"), in_channels=100, num_classes=7)
    # weights 100·16 + 16·7 at 4 bits, one 32-bit scale each, biases 16 + 7 at 32 bits
    assert model_size_bits(model) == (1600 + 112) * 4 + 2 * 32 + 23 * 32


@settings(max_examples=60, deadline=None)
@given(arch=archs(), in_channels=st.integers(1, 40), classes=st.integers(2, 9))
def test_spec_model_size_counts_the_built_model(arch, in_channels, classes):
    """The search's size tables use ArchSpec.model_size_bits; it must count what QuantGNN holds."""
    assert arch.model_size_bits(in_channels, classes) == model_size_bits(QuantGNN(arch, in_channels, classes))


def test_w4_model_is_at_most_a_seventh_of_f32():
    w4 = model_size_bits(QuantGNN(gcn("q4"), 1433, 7))
    f32 = model_size_bits(QuantGNN(gcn("f32"), 1433, 7))
    assert w4 * 7 <= f32


def test_buffer_size_by_hand():
    # layer 1: N·16·8 bits + E·1·4 bits; layer 2: N·7·8 + E·4  -> layer 1 dominates
    arch = gcn(message="q8", attention="gat", att_bits="q4")
    assert buffer_size_bytes(arch, num_nodes=10, num_edges=30, num_classes=7) == (10 * 16 * 8 + 30 * 4) // 8
    assert buffer_size_bytes(gcn(message="q8"), 10, 30, 7) == 10 * 16  # gcn: no coefficients stored
