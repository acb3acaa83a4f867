#!/usr/bin/python3
"""PyTorch's numbers for lamina's training tests (tests/runtime/optim.cpp and losses.cpp).

Runs torch.optim's SGD, Adam and AdamW, the StepLR and CosineAnnealingLR schedules and
torch.nn.functional.cross_entropy on fixed inputs in double precision and prints the results
as C++ initializer lists: paste the "optim.cpp" block into optim.cpp's namespace torch_ref and the
"losses.cpp" block into losses.cpp's.
The tests themselves need no Python.

Rerun (Debian's python3-torch, 1.13):  /usr/bin/python3 tests/runtime/reference/optim_reference.py
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

# The toy problem: weight (3, 2) and bias (2), as lamina's Dense lays them out, and three steps'
# gradients (signs change, one component is zero, magnitudes differ so Adam's per-element scale shows).
W0 = [[0.5, -1.25], [2.0, 0.75], [-0.3, 0.1]]
B0 = [0.2, -0.4]
GW = [
    [[0.1, -0.2], [0.3, 0.0], [-1.5, 0.05]],
    [[-0.4, 0.25], [0.1, -0.6], [0.7, 0.0]],
    [[0.2, 0.2], [-0.05, 0.9], [0.3, -0.35]],
]
GB = [[0.5, -0.1], [0.0, 0.3], [-0.25, 0.8]]


def g(x):
    return repr(float(x))


def cpp_list(values, indent):
    """{a, b, ...}, wrapped at 112 columns."""
    lines, line = [], indent + "{"
    for i, v in enumerate(values):
        item = g(v) + (", " if i + 1 < len(values) else "}")
        if len(line) + len(item.rstrip()) > 112:
            lines.append(line.rstrip())
            line = indent + " "
        line += item
    return "\n".join(lines + [line])


def cpp_rows(rows, indent="    "):
    return "{\n" + "".join(cpp_list(r, indent) + ",\n" for r in rows) + "}"


def run(make, steps=3, frozen_bias_steps=0):
    """Parameters (weight then bias, flattened) after each step. With frozen_bias_steps the bias
    has requires_grad=False (and no gradient) for that many first steps."""
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    opt = make([w, b])
    out = []
    for s in range(steps):
        w.grad = torch.tensor(GW[s])
        frozen = s < frozen_bias_steps
        b.requires_grad_(not frozen)
        b.grad = None if frozen else torch.tensor(GB[s])
        opt.step()
        out.append(w.detach().flatten().tolist() + b.detach().flatten().tolist())
    return out


optimizers = [
    ("sgd_plain", "{.lr = 0.1}", lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd_momentum", "{.lr = 0.1, .momentum = 0.9}", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("sgd_dampening", "{.lr = 0.1, .momentum = 0.9, .dampening = 0.1}",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1)),
    ("sgd_nesterov", "{.lr = 0.1, .momentum = 0.9, .nesterov = true}",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "{.lr = 0.1, .weight_decay = 0.01}",
     lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01)),
    ("sgd_momentum_weight_decay", "{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01}",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("adam_default", "{}", lambda p: torch.optim.Adam(p)),
    ("adam_weight_decay", "{.lr = 0.01, .weight_decay = 0.01}",
     lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01)),
    ("adamw_default", "torch's defaults: lr 1e-3, weight_decay 0.01", lambda p: torch.optim.AdamW(p)),
    ("adamw_weight_decay", "{.lr = 0.01, .weight_decay = 0.1}",
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
]

print("// ---- optim.cpp ----")
print(f"constexpr double w0[6] = {{{', '.join(g(v) for r in W0 for v in r)}}};")
print(f"constexpr double b0[2] = {{{', '.join(g(v) for v in B0)}}};")
print(f"constexpr double gw[3][6] = {cpp_rows([[v for r in s for v in r] for s in GW])};")
print(f"constexpr double gb[3][2] = {cpp_rows(GB)};")
print("// weight then bias after each of three steps")
for name, opts, make in optimizers:
    print(f"// {opts}")
    print(f"constexpr double {name}[3][8] = {cpp_rows(run(make))};")
print("// the bias frozen (requires_grad=False, no gradient) for the first step, trainable after")
for name, make in [
    ("sgd_dampening_frozen", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1)),
    ("adam_frozen", lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01)),
]:
    print(f"constexpr double {name}[3][8] = {cpp_rows(run(make, frozen_bias_steps=1))};")


def schedule(make, epochs=11):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


print("// learning rates for epochs 0..10 from base 0.1")
for name, opts, make in [
    ("step_lr", "{.step_size = 3, .gamma = 0.1}",
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1)),
    ("step_lr_half", "{.step_size = 1, .gamma = 0.5}",
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5)),
    ("cosine_lr", "{.total = 10}", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
    ("cosine_lr_min", "{.total = 10, .min_lr = 0.001}",
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("cosine_lr_past_total", "{.total = 4, .min_lr = 0.001}: torch climbs back after T_max",
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001)),
]:
    print(f"// {opts}")
    print(f"constexpr double {name}[11] =\n{cpp_list(schedule(make), '    ')};")

print()
print("// ---- losses.cpp ----")
losses = [
    ("moderate", [[0.5, -1.0, 2.0, 0.25], [3.0, 1.0, -2.0, 0.0], [-0.75, -0.5, 1.5, 4.0]], [2, 0, 3]),
    ("wrong", [[0.5, -1.0, 2.0, 0.25], [3.0, 1.0, -2.0, 0.0], [-0.75, -0.5, 1.5, 4.0]], [1, 2, 0]),
    ("huge", [[1e4, 9999.5, -1e4], [-1e4, -1e4, -1e4], [1e4, -1e4, 0.0], [-2e4, 2e4, 1.5e4]], [1, 2, 1, 2]),
    # Two rows whose losses are of order 1 although the logits are of order 1e4.
    ("close", [[1e4, 9999.5, -1e4], [-2e4, 2e4, 19999.25]], [1, 2]),
]
for name, logits, labels in losses:
    z = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, torch.tensor(labels))
    loss.backward()
    print(f"// cross_entropy, labels {{{', '.join(str(l) for l in labels)}}}")
    print(f"constexpr double {name}_logits[{len(logits)}][{len(logits[0])}] = {cpp_rows(logits)};")
    print(f"constexpr double {name}_loss = {g(loss.item())};")
    print(f"constexpr double {name}_grad[{len(logits)}][{len(logits[0])}] = {cpp_rows(z.grad.tolist())};")
