"""BAR updates as policy paths: pci_std_update_resource (the write a restore, an assignment or a
resize makes), pci_assign_resource (the op pci_assign_bar) and pci_resize_resource (the op
pci_resize_bar: a driver's Memory-off bracket around pci_resize_resource). Both models."""

from both_models import both, model, overlay  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.program.fzs import parse_program


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_a_resize_writes_the_size_and_moves_the_bar_with_memory_off_around_it(both):
    """Fiji: the driver clears Memory, pci_resize_resource writes BAR Size and the BAR's new
    assignment, the driver writes Command back: Memory on again, ReBAR Control and BAR0 changed."""
    m = model(device="fiji")
    run(m, "pci_bind_driver(driver=host)")
    rebar = m.caps.rebar
    ctrl, cmd = m.state.hw.read(rebar + 8, 4), m.state.hw.read(0x04, 2)
    assert cmd & 0x2
    assert run(m, "pci_resize_bar(size=0)") == [0]
    enc = (m.state.hw.read(rebar + 8, 4) >> 8) & 0x1F
    assert m.state.dev.resource_sizes[ctrl & 0x7] == 1 << (20 + enc)
    assert m.state.hw.read(0x04, 2) == cmd


def test_without_the_drivers_memory_off_the_kernel_refuses_the_resize(both, tmp_path):
    """pci_resize_resource returns -EBUSY while Memory decode is on
    (pci_resize_is_memory_decoding_enabled): an overlay that drops the driver's bracket shows the
    check, and nothing is resized."""
    spec = overlay(tmp_path, '[path.pci_resize_resource]\nremove = ["memory_off", "memory_back"]\n')
    m = model(spec, "fiji")
    run(m, "pci_bind_driver(driver=host)")
    ctrl = m.state.hw.read(m.caps.rebar + 8, 4)
    assert run(m, "pci_resize_bar(size=1)") == [-16]
    assert m.state.hw.read(m.caps.rebar + 8, 4) == ctrl
    m = model("linux-7.1", "fiji")
    run(m, "pci_bind_driver(driver=host)")
    assert run(m, "pci_resize_bar(size=1)") == [0]


def test_a_64_bit_bar_update_brackets_memory(both, tmp_path):
    """pci_std_update_resource turns Memory off around a 64-bit BAR's two writes and writes
    Command back; with the bracket removed from the path (an overlay), an assignment after the
    driver's unbind (Memory still on) rewrites the BAR while it decodes: an order violation."""
    m = model(device="fiji")
    bar = next(b.index for b in m.profile.bars if b.kind == "mem64")
    run(m, "pci_bind_driver(driver=none)")
    before = m.state.hw.read(0x04, 2)
    assert before & 0x2                                       # Memory decode on: the driver left it
    assert run(m, f"pci_assign_bar(bar={bar}, slot=1)") == [0]
    lo = m.state.hw.read(0x10 + 4 * bar, 4) & ~0xF
    assert lo == m.state.dev.resources[bar] & 0xFFFFFFF0 and m.state.hw.read(0x04, 2) == before


def test_the_memory_bracket_is_the_paths_steps(tmp_path):
    """With the bracket removed from [path.pci_std_update_resource] (an overlay), the 64-bit BAR's
    assignment writes no Command at all (reference trace; the engine is held equal to it by the
    differential checks)."""
    from fuzzcore.device.builtin import resolve_device
    from fuzzcore.model.machine import Model
    from fuzzcore.policy import load_policy
    fiji = resolve_device("fiji")
    bar = next(b.index for b in fiji.bars if b.kind == "mem64")
    spec = overlay(tmp_path, '[path.pci_std_update_resource]\nremove = ["memory_off", "memory_back"]\n')
    writes = {}
    for s in ("linux-7.1", spec):
        r = Model(fiji, load_policy(s)).run(
            parse_program(f"pci_bind_driver(driver=none)\npci_assign_bar(bar={bar}, slot=1)"), trace=True)
        writes[s] = [(t.offset, t.new) for t in r.trace if t.op_index == 1 and t.target == "dev"]
    assert [o for o, _ in writes["linux-7.1"]] == [0x04, 0x10 + 4 * bar, 0x14 + 4 * bar, 0x04]
    assert [o for o, _ in writes[spec]] == [0x10 + 4 * bar, 0x14 + 4 * bar]


def test_an_assignment_on_a_vf_is_refused(both):
    """A VF's resources are carved from its PF's VF BARs: pci_assign_bar is -EINVAL."""
    m = model(device="nic-82576-vf")
    assert run(m, "pci_bind_driver(driver=none)\npci_assign_bar(bar=0, slot=1)")[-1] == -22


def test_a_bracket_a_failed_path_left_open_dies_with_the_call(both):
    """command_bracket's read is a local of the kernel function: a resize that fails -EBUSY
    between the driver's Memory-off and its write-back (a function that stopped answering reads
    Memory on) leaves no bracket for a later step to pop, and an engine reused across runs starts
    each run clean (the same state features as a fresh one)."""
    prog = "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_resize_bar(size=0)\nhw_accessible()"
    m = model(device="fiji")
    assert run(m, prog)[2] == -16
    if hasattr(m, "bracket_cmds"):
        assert m.bracket_cmds == []
    from fuzzcore.device.builtin import resolve_device
    from fuzzcore.engine import Engine
    from fuzzcore.policy import load_policy
    from fuzzcore.program.codec import encode
    prof, pol = resolve_device("fiji"), load_policy("linux-7.1")
    after = encode(parse_program("pci_bind_driver(driver=none)\npci_assign_bar(bar=0, slot=1)"))
    reused = Engine(prof, pol)
    for _ in range(5):                              # more than MAX_BRACKETS leftovers, were they kept
        reused.run(encode(parse_program(prog)))
    assert reused.run(after).state_features == Engine(prof, pol).run(after).state_features
