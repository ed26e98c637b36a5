"""The Dask worker plugin of ``dstc explore``'s local cluster (imports ``distributed``)."""

from distributed import WorkerPlugin

from .tools import stop_children

__all__ = ["StopToolsOnClose"]


class StopToolsOnClose(WorkerPlugin):
    """Stops, when its worker closes, the tools the worker's jobs started: yosys, abc,
    OpenSTA, Verilator's make and compilers, a simulator. They run in process groups of their
    own (:func:`~dstc.gen.tools.child_process`), so without it they would outlive a worker
    process that the explorer's cluster closes after ``Ctrl-C``, a SIGTERM or an error, and
    keep the machine busy with nobody waiting for them."""

    name = "dstc-stop-tools"

    def teardown(self, worker):
        stop_children()
