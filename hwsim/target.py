"""The accelerator description: a YAML file validated into a frozen `Target` (docs/design.md §5).

The file boundary is a pydantic model that rejects unknown keys and bad values with the key
path; inside, `Target` is a frozen dataclass with the derived quantities the cost model needs.
"""

from __future__ import annotations

import importlib.resources
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic

from hwsim.errors import InputError, StrictModel, from_validation_error
from hwsim.files import file_or_named, read_yaml

SCHEMA_VERSION = 1
OPERAND_BITS = (1, 2, 4, 8, 16, 32)  # b1; t2/q2; q4; q8; q16; f32
# The presets and the template ship inside the package (examples/targets links here), so an
# installed lpgnas-hw finds them wherever it runs.
PRESET_DIR = Path(str(importlib.resources.files("hwsim") / "presets"))

# Upper bounds far beyond any device (a thousand times today's largest), so that no accepted
# value overflows the model's 64-bit integer arithmetic: a count of 1e300 is a typo, not a chip.
MAX_COUNT = 10**9
PositiveInt = pydantic.conint(gt=0, le=MAX_COUNT)
PositiveFloat = pydantic.confloat(gt=0, le=1e9)
NonNegativeFloat = pydantic.confloat(ge=0, le=1e9)


class _BuffersModel(StrictModel):
    message: pydantic.confloat(ge=0, le=1)
    weight: pydantic.confloat(ge=0, le=1)
    feature: pydantic.confloat(ge=0, le=1)
    output: pydantic.confloat(ge=0, le=1)

    @pydantic.model_validator(mode="after")
    def _fits(self) -> _BuffersModel:
        total = self.message + self.weight + self.feature + self.output
        if total > 1 + 1e-9:
            raise ValueError(f"fractions sum to {total:g}, more than the on-chip memory (at most 1)")
        return self


class _PackingModel(StrictModel):
    dsp_macs: dict[int, PositiveFloat] = pydantic.Field(default_factory=dict)
    lut_per_mac: dict[int, PositiveFloat] = pydantic.Field(default_factory=dict)
    lut_fraction: pydantic.confloat(gt=0, le=1) = 0.5


class _TargetModel(StrictModel):
    schema_version: int
    name: str = pydantic.Field(min_length=1)
    clock_mhz: pydantic.confloat(gt=0, le=1e5)  # up to 100 GHz
    dram_gbps: pydantic.confloat(gt=0, le=1e6)
    bram_kib: NonNegativeFloat
    uram_kib: NonNegativeFloat
    dsp: PositiveInt
    lut: PositiveInt
    pe_rows: PositiveInt
    pe_cols: PositiveInt
    agg_lanes: PositiveInt
    datapath_bits: PositiveInt
    overlap: bool
    zero_skipping: bool = True
    buffer_policy: Literal["lru", "degree"] = "lru"
    dataflow: Literal["pipelined", "per_fold"] = "pipelined"
    column_reuse: bool = False
    dram_efficiency: pydantic.confloat(gt=0, le=1) = 1.0
    dram_burst_bytes: pydantic.conint(ge=1, le=4096) = 1
    accumulator_bits: pydantic.conint(ge=8, le=128) = 32  # at least a byte: the kernels count whole bytes
    index_bytes: pydantic.conint(gt=0, le=16) = 4
    buffers: _BuffersModel
    packing: _PackingModel


@dataclass(frozen=True)
class Target:
    """A validated accelerator. Units live in the names; see docs/design.md §5 for the template.

    `dsp_macs[b]`: MACs one DSP slice performs per cycle on b-bit operands (packing shares one
    operand across several output columns). `lut_per_mac[b]`: LUTs per MAC unit of the
    LUT/XNOR-popcount engine, used for operands of b bits when listed there.
    """

    name: str
    clock_mhz: float
    dram_gbps: float
    bram_kib: float
    uram_kib: float
    dsp: int
    lut: int
    pe_rows: int
    pe_cols: int
    agg_lanes: int
    datapath_bits: int
    overlap: bool
    zero_skipping: bool
    buffer_policy: str
    buffer_fractions: dict[str, float] = field(hash=False)
    dsp_macs: dict[int, float] = field(hash=False)
    lut_per_mac: dict[int, float] = field(hash=False)
    lut_fraction: float = 0.5
    # pipelined: the PE array overlaps one fold's fill and drain with the next (K cycles per fold);
    # per_fold: each fold fills and drains, K + pe_rows + pe_cols − 2 cycles (a systolic array as
    # SCALE-Sim counts it; the physical columns, whatever the packing). The default keeps the
    # earlier model, so existing target files simulate as before.
    dataflow: str = "pipelined"
    # A layer narrower than the columns splits them into groups that work on other nodes, instead
    # of leaving them idle; off by default (the earlier model).
    column_reuse: bool = False
    # DRAM realism: the share of dram_gbps a sustained stream gets (controller and refresh
    # overheads), and the burst a random transfer (a message-buffer miss) is rounded up to.
    # 1 and 1 byte by default: the earlier model, peak bandwidth and exact bytes.
    dram_efficiency: float = 1.0
    dram_burst_bytes: int = 1
    accumulator_bits: int = 32  # width of the aggregation's partial sums and of the logits written back
    index_bytes: int = 4  # one node index of the edge list and row pointers (32-bit)
    source: str = ""

    @property
    def onchip_bytes(self) -> int:
        return int((self.bram_kib + self.uram_kib) * 1024)

    def buffer_bytes(self, partition: str) -> int:
        """Bytes of one on-chip partition (message, weight, feature, output)."""
        return int(self.buffer_fractions[partition] * self.onchip_bytes)

    @property
    def fold_fill_cycles(self) -> int:
        """Cycles each fold of the PE array adds for its fill and drain (see `dataflow`)."""
        return self.pe_rows + self.pe_cols - 2 if self.dataflow == "per_fold" else 0

    @property
    def dram_bytes_per_cycle(self) -> float:
        """Sustained DRAM bytes per accelerator cycle: dram_gbps × dram_efficiency ÷ clock."""
        return self.dram_gbps * 1e9 * self.dram_efficiency / (self.clock_mhz * 1e6)

    def engine_columns(self, operand_bits: int) -> float:
        """Output columns per cycle of the engine this width's packing rule names.

        DSP rule: pe_cols × MACs per DSP. LUT rule: the LUT engine (lut_fraction of the LUTs)
        arranged as pe_rows rows, lut·fraction / (LUTs per MAC · pe_rows) columns: with the LUTs
        fixed, more rows reshape this engine rather than enlarge it.
        """
        if operand_bits in self.lut_per_mac:
            units = self.lut * self.lut_fraction / self.lut_per_mac[operand_bits]
            return max(1.0, math.floor(units / self.pe_rows + 1e-9))  # exact quotients stay whole
        return self.pe_cols * self.dsp_macs[operand_bits]

    def columns_per_pass(self, operand_bits: int) -> float:
        """Output columns the PE array advances per cycle for operands of this width.

        A narrow operand can always run on the engine of a wider width (it fits the wider
        slot), so this is the best engine over every width at least this wide; wider operands
        are therefore never faster.
        """
        return max(self.engine_columns(w) for w in OPERAND_BITS if w >= operand_bits)

    def with_changes(self, **changes: Any) -> Target:
        """A copy with some fields replaced and re-validated (for what-if studies and tests)."""
        data = self.to_dict()
        for key, value in changes.items():
            if key in ("buffers", "packing"):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return parse_target(data, source=f"{self.source or self.name} (modified)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION, "name": self.name, "clock_mhz": self.clock_mhz,
            "dram_gbps": self.dram_gbps, "bram_kib": self.bram_kib, "uram_kib": self.uram_kib,
            "dsp": self.dsp, "lut": self.lut, "pe_rows": self.pe_rows, "pe_cols": self.pe_cols,
            "agg_lanes": self.agg_lanes, "datapath_bits": self.datapath_bits, "overlap": self.overlap,
            "zero_skipping": self.zero_skipping, "buffer_policy": self.buffer_policy, "dataflow": self.dataflow,
            "column_reuse": self.column_reuse, "dram_efficiency": self.dram_efficiency,
            "dram_burst_bytes": self.dram_burst_bytes,
            "accumulator_bits": self.accumulator_bits, "index_bytes": self.index_bytes,
            "buffers": dict(self.buffer_fractions),
            "packing": {"dsp_macs": dict(self.dsp_macs), "lut_per_mac": dict(self.lut_per_mac),
                        "lut_fraction": self.lut_fraction},
        }


def parse_target(data: Any, source: str = "target") -> Target:
    """Validate a target mapping into a Target.

    Raises:
        InputError: naming `source` and the offending field.
    """
    if not isinstance(data, dict):
        raise InputError(source, "", "expected a mapping of target fields")
    version = data.get("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        raise InputError(source, "schema_version", f"unsupported version {version!r}; this tool reads {SCHEMA_VERSION}")
    try:
        model = _TargetModel.model_validate(data)
    except pydantic.ValidationError as err:
        raise from_validation_error(source, err) from None
    _check_packing(model, source)
    if model.pe_rows * model.pe_cols > model.dsp:
        raise InputError(source, "pe_cols", f"the {model.pe_rows}x{model.pe_cols} PE array needs "
                         f"{model.pe_rows * model.pe_cols} DSP slices; the target has {model.dsp}")
    return Target(
        name=model.name, clock_mhz=model.clock_mhz, dram_gbps=model.dram_gbps, bram_kib=model.bram_kib,
        uram_kib=model.uram_kib, dsp=model.dsp, lut=model.lut, pe_rows=model.pe_rows, pe_cols=model.pe_cols,
        agg_lanes=model.agg_lanes, datapath_bits=model.datapath_bits, overlap=model.overlap,
        zero_skipping=model.zero_skipping, buffer_policy=model.buffer_policy,
        buffer_fractions=model.buffers.model_dump(), dsp_macs=dict(model.packing.dsp_macs),
        lut_per_mac=dict(model.packing.lut_per_mac), lut_fraction=model.packing.lut_fraction,
        dataflow=model.dataflow, column_reuse=model.column_reuse, dram_efficiency=model.dram_efficiency,
        dram_burst_bytes=model.dram_burst_bytes, accumulator_bits=model.accumulator_bits,
        index_bytes=model.index_bytes, source=source)


def _check_packing(model: _TargetModel, source: str) -> None:
    """Every operand width has exactly one rule, and within a table wider operands are never cheaper."""
    packing = model.packing
    for bits in (*packing.dsp_macs, *packing.lut_per_mac):
        if bits not in OPERAND_BITS:
            raise InputError(source, "packing", f"unknown operand width {bits}; widths are {list(OPERAND_BITS)}")
    for bits in OPERAND_BITS:
        in_dsp, in_lut = bits in packing.dsp_macs, bits in packing.lut_per_mac
        if not in_dsp and not in_lut:
            raise InputError(source, "packing", f"no rule for {bits}-bit operands: give packing.dsp_macs[{bits}] "
                             f"or packing.lut_per_mac[{bits}]")
        if in_dsp and in_lut:
            raise InputError(source, f"packing.lut_per_mac.{bits}",
                             f"{bits}-bit operands have both a DSP and a LUT rule; keep one")
    for table, name, worse in ((packing.dsp_macs, "dsp_macs", "more MACs per DSP"),
                               (packing.lut_per_mac, "lut_per_mac", "fewer LUTs per MAC")):
        widths = sorted(table)
        for narrow, wide in zip(widths, widths[1:]):
            faster = table[wide] > table[narrow] if name == "dsp_macs" else table[wide] < table[narrow]
            if faster:
                raise InputError(source, f"packing.{name}.{wide}", f"{wide}-bit operands get {worse} than "
                                 f"{narrow}-bit ones ({table[wide]:g} vs {table[narrow]:g}); wider must not be cheaper")


def preset_names() -> list[str]:
    """Names of the target presets shipped with hwsim (the template excluded)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml") if p.stem != "fpga")


def target_spec(spec: str) -> str:
    """How a run records a target: a preset by its name, a file by its absolute path (so the run
    resumes, and a sweep's workers run, from any folder)."""
    path = resolve_target_path(spec)
    return spec if path.parent == PRESET_DIR and path.stem == spec else str(path.resolve())


def resolve_target_path(spec: str | os.PathLike) -> Path:
    """A target file path, or the preset of that name."""
    return file_or_named(spec, PRESET_DIR, preset_names(), "preset", "argument --target")


def load_target(spec: str | os.PathLike) -> Target:
    """Load and validate a target from a YAML file or a preset name."""
    path = resolve_target_path(spec)
    data = read_yaml(path)
    return parse_target(data, source=str(path))
