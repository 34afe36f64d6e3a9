"""Hardware events a program can inject: the link drops, config space stops or starts answering."""

from __future__ import annotations

from .power import link_down_effects
from .reset import hardware_reset


NO_LINK = ("a function with no upstream port (a Root Port, a Root Complex integrated device) sits on "
           "no link it can lose: its config space is reached inside the Root Complex")


def hw_link_down(m) -> int:
    """The link goes down and retrains: the function sees a hot reset; the port loses LTR Enable."""
    if m.state.port is None:
        return m.refuse(-19, NO_LINK)
    with m.in_step("link down"):
        link_down_effects(m)
        hardware_reset(m, "hot")
    return 0


def hw_inaccessible(m) -> int:
    """Config space reads all-ones and drops writes (error containment, surprise removal)."""
    if m.state.port is None:
        return m.refuse(-19, NO_LINK)
    m.state.hw.accessible = False
    return 0


def hw_accessible(m) -> int:
    """Config space answers again (containment cleared), unless the function has no power."""
    m.state.hw.accessible = m.state.hw.powered
    return 0
