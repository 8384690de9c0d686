"""Writes fixtures/training/adam_trajectory.json: PyTorch Adam with StyleGAN-NADA's effective
hyperparameters (lr 0.002*0.8, betas (0, 0.99**0.8)) over 4 steps, one parameter skipping step 3.
Run with a venv that has torch: python tools/gen_adam_fixture.py"""
import json, torch
torch.manual_seed(0)
r = 4 / 5
a = torch.randn(7, requires_grad=True)
b = torch.randn(3, requires_grad=True)
init = {"a": a.detach().tolist(), "b": b.detach().tolist()}
opt = torch.optim.Adam([a, b], lr=0.002 * r, betas=(0.0 ** r, 0.99 ** r))
grads = []
for step in range(4):
    opt.zero_grad()
    ga = torch.randn(7) * (10.0 if step == 0 else 1.0)
    gb = torch.randn(3)
    a.grad = ga
    b.grad = None if step == 2 else gb
    grads.append({"a": ga.tolist(), "b": None if step == 2 else gb.tolist()})
    opt.step()
json.dump({"init": init, "grads": grads, "final": {"a": a.detach().tolist(), "b": b.detach().tolist()}},
          open("fixtures/training/adam_trajectory.json", "w"), indent=1)
