"""utils.train: the shared loop equals a loop written out by hand, step for step."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from utils import train


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)
    return X, y.unsqueeze(1)


def _model():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 1)


def test_fit_equals_hand_written_loop():
    X, y = _data()
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=False)
    a, b = _model(), _model()
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    history = train.fit(a, loader, loss_fn=torch.nn.functional.mse_loss, optimizer=opt_a,
                        epochs=3, val_loader=loader, verbose=False)
    for _ in range(3):
        for xb, yb in loader:
            loss = torch.nn.functional.mse_loss(b(xb), yb)
            opt_b.zero_grad()
            loss.backward()
            opt_b.step()
    torch.testing.assert_close(a.weight, b.weight)
    torch.testing.assert_close(a.bias, b.bias)
    assert len(history["train_loss"]) == 3 and history["val_loss"][-1] < history["train_loss"][0]
    full = train.evaluate(a, loader, torch.nn.functional.mse_loss)["loss"]
    assert full == pytest.approx(torch.nn.functional.mse_loss(a(X), y).item(), rel=1e-5)


def test_metrics_scheduler_and_clipping():
    X = torch.randn(40, 2)
    y = (X[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    hist = train.fit(model, loader, loss_fn=torch.nn.functional.cross_entropy, optimizer=opt,
                     epochs=4, val_loader=loader, metrics={"accuracy": train.accuracy},
                     scheduler=sched, clip_grad_norm=1.0, verbose=False)
    assert hist["val_accuracy"][-1] > 0.8
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * 0.5 ** 4)  # 20 steps, halved every 5


def test_accuracy_binary_and_multiclass():
    logits = torch.zeros(2, 3, 4)
    logits[0, :, 1] = 1.0  # sequence outputs (B, L, C): one prediction per position
    assert train.accuracy(logits, torch.tensor([[1, 1, 0], [0, 0, 0]])) == pytest.approx(5 / 6)
    assert train.accuracy(torch.tensor([[1.0], [-1.0]]), torch.tensor([1, 1])) == 0.5
    assert train.accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])) == 0.5
    assert train.accuracy(torch.tensor([1.0, -1.0, 2.0]), torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="predictions vs"):
        train.accuracy(torch.zeros(3, 2), torch.zeros(4))


def test_bad_input_is_named():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train.fit(model, [], loss_fn=torch.nn.functional.mse_loss, optimizer=opt, epochs=0)
    with pytest.raises(TypeError, match="train_loader must be"):
        train.fit(model, None, loss_fn=torch.nn.functional.mse_loss, optimizer=opt, epochs=1)
    with pytest.raises(ValueError, match="yielded no batches"):
        train.fit(model, [], loss_fn=torch.nn.functional.mse_loss, optimizer=opt, epochs=1,
                  verbose=False)
    with pytest.raises(ValueError, match="history has no"):
        train.plot_history({"train_loss": [1.0]}, keys=["val_loss"])
