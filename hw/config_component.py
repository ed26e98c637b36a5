"""The base of every component built for one core configuration."""

from amaranth.lib import wiring

__all__ = ["ConfigComponent"]


class ConfigComponent(wiring.Component):
    """A ``wiring.Component`` built for one :class:`~dstc.sim.config.DstcConfig`, which it
    keeps as :attr:`config` (read-only).

    Parameters: ``config`` and the component's ``signature`` (a ``wiring.Signature`` or the
    dict of its members), as ``wiring.Component`` takes it.
    """

    def __init__(self, config, signature):
        self._config = config
        super().__init__(signature)

    @property
    def config(self):
        """The :class:`~dstc.sim.config.DstcConfig` this component was built for."""
        return self._config
