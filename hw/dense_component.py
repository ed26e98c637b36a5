"""The base of the dense baseline's components."""

from ..sim.isa import DenseGeometry
from .config_component import ConfigComponent

__all__ = ["DenseComponent"]


class DenseComponent(ConfigComponent):
    """A :class:`~dstc.hw.config_component.ConfigComponent` of the dense baseline, which also
    keeps the configuration's :class:`~dstc.sim.isa.DenseGeometry` as :attr:`geometry`.

    Parameters: ``config`` and ``signature``, as for ``ConfigComponent``. Raises
    :class:`~dstc.sim.config.ConfigError` if the configuration has no dense baseline.
    """

    def __init__(self, config, signature):
        self._geometry = DenseGeometry.of(config)
        super().__init__(config, signature)

    @property
    def geometry(self):
        """The :class:`~dstc.sim.isa.DenseGeometry` of :attr:`config` (blocks of the tile)."""
        return self._geometry
