"""Measured speeds that :mod:`dstc.gen.estimate` predicts run times from (data, not code).

``SIM_SPEED``: simulated cycles per second of a whole ``dstc sim`` run (cocotb's per-cycle
handshaking included, the build excluded), by simulator and preset. The small presets were
measured on the 2-core development machine (2026-11-30) with

    dstc bench --speed-table --presets small small-fp16 --simulators verilator icarus

which simulates :data:`dstc.gen.bench.SPEED_WORKLOAD` and writes ``sim_speed.json``; the
default preset's figures are the ``dstc bench`` rows of docs/bench.md (2026-11-25; Verilator
at -O2, the C++ optimisation of ``dstc sim``). Re-measure and update this table when the
testbench or the simulators change.

``GENERATION_SECONDS``: seconds to generate each preset's ``dstc_core`` Verilog, the
"Verilog generation" table of ``dstc bench`` (docs/bench.md); the accumulator-variant presets
(small8 and its variants, the default-shape variants) were measured with the same function,
``dstc.gen.bench._generation``, on the development machine (2026-11-30, other jobs running).
The two-buffer presets (``small8-tb2``, ``default-tb2``) were measured in one run beside their
one-buffer presets while a synthesis ran (small8 18.97 s, small8-tb2 30.38 s, default 176.8 s,
default-tb2 173.2 s) and are entered scaled by their one-buffer preset's figure here.
The pipelined-accumulate presets (``small8-pipe``, ``small8-g8-pipe``, ``default-pipe``) were
measured in one run of ``_generation`` while a synthesis ran (2026-11-30: small8 12.64 s,
small8-pipe 15.88 s, small8-g8 14.18 s, small8-g8-pipe 15.16 s, default 186.7 s,
default-pipe 225.3 s) and are entered scaled: the small8 ones by small8's figure, the
default one by default's.
"""

SIM_SPEED = {
    "verilator": {"default": 4219.0, "small": 10362.0, "small-fp16": 10572.0},
    "icarus": {"default": 38.0, "small": 1749.0, "small-fp16": 215.0},
}

GENERATION_SECONDS = {
    "default": 31.9, "int8": 24.4, "small": 0.6, "small-fp16": 1.1,
    "small8": 5.4, "small8-reach": 6.8, "small8-g2": 4.4, "small8-g4": 5.2, "small8-g8": 4.9,
    "small8-g8h2": 3.4, "default-reach": 49.6, "default-g2": 46.3, "default-g8": 41.2,
    "default-g8h2": 32.6, "small8-inline": 5.3, "default-inline": 45.5, "small8-tb2": 8.6,
    "default-tb2": 31.2, "small8-pipe": 6.8, "small8-g8-pipe": 6.5, "default-pipe": 38.5,
}
