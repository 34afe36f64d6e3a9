# Hardware events a program can inject: the link drops, config space stops or starts answering;
# mirrors fuzzcore/model/hw_events.py.

cdef int hw_link_down(Machine *m) noexcept nogil:
    """The link goes down and retrains: the function sees a hot reset; the port loses LTR Enable.
    Refused without an upstream port (hw_events.NO_LINK)."""
    cdef int prev = m.step
    if not m.d.has_port:
        m.refused_now = 1
        return ENODEV_
    m.step = STEP_LINK_DOWN
    link_down_effects(m)
    hardware_reset(m, RESET_HOT)
    m.step = prev
    return 0


cdef int hw_inaccessible(Machine *m) noexcept nogil:
    """Config space reads all-ones and drops writes (error containment, surprise removal).
    Refused without an upstream port (hw_events.NO_LINK)."""
    if not m.d.has_port:
        m.refused_now = 1
        return ENODEV_
    m.st.accessible = 0
    return 0


cdef int hw_accessible(Machine *m) noexcept nogil:
    """Config space answers again, unless the function has no power."""
    m.st.accessible = m.st.powered
    return 0
