"""Human-readable renderings of the result objects (the `--json` objects stay the contract)."""

from __future__ import annotations


def _pct(stat: dict, seeds: int) -> str:
    if seeds == 1:  # a spread over one seed is no spread
        return f"{100 * stat['mean']:.2f} % (1 seed)"
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f} % ({seeds} seeds)"


def _arch_lines(arch: dict) -> list[str]:
    lines = [f"  {'layer':<6}{'attention':<12}{'aggregation':<12}{'activation':<11}{'width x heads':<15}"
             "bits (W weight, F feature, M message, A attention)"]
    for i, layer in enumerate(arch["layers"], start=1):
        q = layer["quant"]
        quant = " ".join(f"{k[0].upper()}={v}" for k, v in q.items())
        width = f"{layer.get('hidden', 'classes')} x {layer['heads']}"
        lines.append(f"  {i:<6}{layer['attention']:<12}{layer['aggregation']:<12}"
                     f"{layer.get('activation', 'identity'):<11}{width:<15}{quant}")
    return lines


def _accuracy_lines(result: dict) -> list[str]:
    seeds = len(result["seeds"])
    return [f"val accuracy      {_pct(result['accuracy']['val'], seeds)}",
            f"test accuracy     {_pct(result['accuracy']['test'], seeds)}",
            f"model size        {result['model_size_bytes']:,} bytes",
            f"buffer size       {result['buffer_size_bytes']:,} bytes (LPGNAS: the largest layer's messages "
            "and attention coefficients at their bit widths)"]


def render_train(result: dict) -> str:
    seeds = ",".join(str(s) for s in result["seeds"])
    lines = [f"dataset {result['dataset']} ({result['split']} split), seeds {seeds}", "architecture:"]
    lines += _arch_lines(result["arch"])
    lines += _accuracy_lines(result)
    lines.append(f"training time     {result['timing']['retrain_s']:.1f} s")
    return "\n".join(lines)


def render_hw(hw: dict) -> list[str]:
    lines = [f"cycles at {hw['clock_mhz']:g} MHz; bound: the phase's larger part, compute or DRAM traffic",
             f"{'layer':<6}{'phase':<12}{'cycles':>10}{'latency ms':>12}{'bound':>9}{'DRAM bytes':>13}{'MACs':>13}"
             f"{'hit rate':>9}"]
    for i, layer in enumerate(hw["per_layer"], start=1):
        for phase in ("combination", "aggregation"):
            p = layer[phase]
            hit = f"{p['hit_rate']:.3f}" if "hit_rate" in p else ""
            bound = "compute" if p["compute_cycles"] >= p["memory_cycles"] else "memory"
            lines.append(f"{i:<6}{phase:<12}{p['cycles']:>10,}{p['latency_ms']:>12.4f}{bound:>9}"
                         f"{p['dram_bytes']:>13,}{p['macs']:>13,}{hit:>9}")
    lines.append(f"{'total':<18}{hw['cycles']:>10,}{hw['latency_ms']:>12.4f}{'':>9}{hw['dram_bytes']:>13,}"
                 f"{hw['macs']:>13,}")
    lines.append(f"peak on-chip buffer {hw['peak_buffer_bytes']:,} bytes (the largest layer's messages and "
                 f"attention coefficients, capped by the on-chip memory); edges processed {hw['edges']:,}")
    if "onchip_need_bytes" in hw:  # results written before the on-chip account have none
        fits = "fits" if hw["fits_onchip"] else "does not fit"
        spills = [f"layer {i} {name}" for i, layer in enumerate(hw["per_layer"], start=1)
                  for name in layer["onchip"]["spills"]]
        lines.append(f"on-chip need {hw['onchip_need_bytes'] / 1024:,.1f} KiB (the most demanding layer's weights, "
                     f"input, messages, attention and output) of {hw['onchip_bytes'] / 1024:,.1f} KiB: {fits}; "
                     f"partitions too small: {', '.join(spills) if spills else 'none'}")
    return lines


def render_simulate(result: dict) -> str:
    lines = [f"target {result['target']}, dataset {result['dataset']}", "architecture:"]
    lines += _arch_lines(result["arch"])
    return "\n".join(lines + render_hw(result["hw"]))


def render_targets(result: dict) -> str:
    lines = [f"{'name':<10}{'clock MHz':>10}{'DRAM GB/s':>11}{'on-chip KiB':>13}{'DSP':>8}{'LUT':>10}"
             f"{'PE array':>10}{'lanes':>7}"]
    for t in result["targets"]:
        pe = f"{t['pe_array'][0]}x{t['pe_array'][1]}"
        lines.append(f"{t['name']:<10}{t['clock_mhz']:>10g}{t['dram_gbps']:>11g}{t['onchip_kib']:>13,.0f}"
                     f"{t['dsp']:>8,}{t['lut']:>10,}{pe:>10}{t['agg_lanes']:>7}")
    return "\n".join(lines)


def render_search(result: dict) -> str:
    seeds = ",".join(str(s) for s in result["seeds"])
    lines = [f"dataset {result['dataset']} ({result['split']} split), target {result['target']}, "
             f"search seed {result['seed']}, retraining seeds {seeds}", "searched architecture:"]
    lines += _arch_lines(result["arch"])
    if result.get("repaired"):
        lines.append("repaired to meet the budget: " + "; ".join(result.get("repairs", [])))
    selection = result.get("selection")
    if selection:
        rows = selection["candidates"]
        kept = rows[selection["chosen"]]
        lines.append(f"kept candidate {selection['chosen']} of {len(rows)} (0: the argmax): validation "
                     f"{100 * kept['val_acc']:.2f} % after training, score {kept['score']:.4f} "
                     f"(argmax {100 * rows[0]['val_acc']:.2f} %, score {rows[0]['score']:.4f})")
    timing = result["timing"]
    select = f", select {timing['select_s']:.1f} s" if "select_s" in timing else ""
    lines += _accuracy_lines(result)
    lines += [f"time              search {timing['search_s']:.1f} s{select}, retrain {timing['retrain_s']:.1f} s",
              "simulated on the target:"]
    return "\n".join(lines + render_hw(result["hw"]))


def render_sweep(result: dict) -> str:
    lines = [f"{'dataset':<10}{'target':<9}{'point':<28}{'seed':>5}{'test acc %':>12}{'latency ms':>12}"
             f"{'buffer KiB':>12}{'model KiB':>11}"]
    for r in result["points"]:
        lines.append(f"{r['dataset']:<10}{r['target']:<9}{r['label'][:27]:<28}{r['seed']:>5}"
                     f"{100 * r['test_acc']:>12.2f}{r['latency_ms']:>12.4f}{r['peak_buffer_kib']:>12.1f}"
                     f"{r['model_size_kib']:>11.1f}")
    for f in result["failed"]:
        lines.append(f"FAILED {f['key']}: {f['error']}")
    if result.get("not_started"):  # a --stop-after sweep; `pareto` results do not know the grid
        lines.append(f"{len(result['not_started'])} points not started (--stop-after); the same command runs them")
    lines.append(f"sweep directory {result['sweep_dir']}: {', '.join(result['files'])}")
    return "\n".join(lines)
