"""The two designs a command program runs on, each as one record: its module name, its
component, its counter outputs, its command encoder, its model and the check of a run.

:data:`SPARSE_CORE` is the DSTC core (:class:`~dstc.hw.core.DstcCore`), :data:`DENSE_CORE`
the dense baseline (:class:`~dstc.hw.dense_core.DenseCore`). The drivers of
:mod:`dstc.gen.core_driver` (cocotb and Amaranth simulator) take a :class:`Design`.
"""

import dataclasses
from collections.abc import Callable

from ..hw.core import COUNTERS, DstcCore
from ..hw.dense_core import DENSE_COUNTERS, DenseCore
from ..sim.core_model import CoreModel
from ..sim.dense_model import DenseCoreModel
from .checks import check_responses, check_status
from .wire import CommandEncoder, DenseCommandEncoder

__all__ = ["Design", "SPARSE_CORE", "DENSE_CORE"]


@dataclasses.dataclass(frozen=True)
class Design:
    """A core that runs command programs.

    ``name`` is the Verilog module name; ``component(config)``, ``encoder(config)`` and
    ``model(config)`` build the Amaranth component, the command encoder
    (:mod:`dstc.gen.wire`) and the golden model; ``counters`` names the counter outputs
    (:attr:`model_counters` reads the same from a model that has run); ``response_fields``
    are the response attributes compared besides ``row``, ``last`` and the values.
    """

    name: str
    component: Callable
    encoder: Callable
    model: Callable
    counters: tuple
    model_counters: Callable
    response_fields: tuple = ()

    def check(self, config, commands, run, timing=True):
        """Compare ``run`` (a :class:`~dstc.gen.core_driver.CoreRun` of ``commands``) with
        the model: responses bit for bit, error flags and counters and, with ``timing``
        (nothing stalled), every accept cycle and the finish cycle. Returns the model, which
        has run ``commands``; raises ``AssertionError`` naming the first difference."""
        model = self.model(config)
        expected_cycles, expected = model.run(commands)
        check_responses(config, run.responses, expected, fields=self.response_fields)
        check_status(commands, run, model, self.model_counters(model), expected_cycles,
                     timing)
        return model


#: The DSTC core.
SPARSE_CORE = Design(name="dstc_core", component=DstcCore, encoder=CommandEncoder,
                     model=CoreModel, counters=COUNTERS,
                     model_counters=lambda model: model.all_counters,
                     response_fields=("encoded", "count", "bitmap"))

#: The dense baseline.
DENSE_CORE = Design(name="dstc_dense_core", component=DenseCore, encoder=DenseCommandEncoder,
                    model=DenseCoreModel, counters=DENSE_COUNTERS,
                    model_counters=lambda model: model.counters)
