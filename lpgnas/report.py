"""Human-readable renderings of the result objects (the `--json` objects stay the contract)."""

from __future__ import annotations


def _pct(stat: dict) -> str:
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f} %"


def _arch_lines(arch: dict) -> list[str]:
    lines = []
    for i, layer in enumerate(arch["layers"]):
        q = layer["quant"]
        quant = " ".join(f"{k[0].upper()}={v}" for k, v in q.items())
        width = f"{layer.get('hidden', 'classes')}x{layer['heads']}"
        lines.append(f"  layer {i + 1}: {layer['attention']:<11} {layer['aggregation']:<4} "
                     f"{layer.get('activation', 'identity'):<10} {width:<9} {quant}")
    return lines


def render_train(result: dict) -> str:
    seeds = ",".join(str(s) for s in result["seeds"])
    lines = [f"dataset {result['dataset']} ({result['split']} split), seeds {seeds}", "architecture:"]
    lines += _arch_lines(result["arch"])
    lines += [
        f"val accuracy      {_pct(result['accuracy']['val'])}",
        f"test accuracy     {_pct(result['accuracy']['test'])}",
        f"model size        {result['model_size_bytes']:,} bytes",
        f"buffer size       {result['buffer_size_bytes']:,} bytes",
        f"training time     {result['timing']['retrain_s']:.1f} s",
    ]
    return "\n".join(lines)
