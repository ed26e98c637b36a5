"""Verilog generation, synthesis helpers and the ``dstc`` command line."""
