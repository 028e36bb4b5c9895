"""Zero-cost proxies: synflow, NASWOT, snip and grad_norm score an untrained network from one batch.

Each proxy is a function `(model, inputs, targets) -> float`, higher meaning "predicted better",
computed as NASLib computes it (automl/NASLib, `naslib/predictors/pruners/measures/`, itself the code
of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021), so that our scores rank
NAS-Bench-201 cells like NASLib's published ones. `zero_cost_score(name, ...)` picks one by name;
`zero_cost_scores(names, ...)` computes several with one shared pass. Conventions shared by all four:

- **The caller's model is left as it was**: weights, buffers (batch-norm running statistics),
  `.grad`, `requires_grad` and the train/eval mode of every module. synflow, which rewrites the
  weights, scores a deep copy; the others run on the model itself (gradients through
  `torch.autograd.grad`, which leaves `.grad` alone) and restore modes and buffers on exit.
- **Batch-norm in training mode, everything else in eval mode.** NASLib scores its freshly built
  network in training mode, so batch-norm normalises with the statistics of the batch. Dropout and
  stochastic depth are switched off (NASLib's NB201 network has neither) so that a score depends on
  the weights and the batch only: same seed, same score.
- **Parameterised layers are `nn.Conv2d` and `nn.Linear`** (NASLib's `get_layer_metric_array`);
  per-weight scores are summed over their weights (not biases) into one number.
- **Batch**: one batch of training images normalised with the dataset's per-channel mean and std,
  targets the true labels, loss cross-entropy averaged over the batch. Abdelfattah et al. used 64
  images; NASLib's published NAS-Bench-201 scores were computed on 32 (its zero-cost config's
  `batch_size: 32`; nwot, a log-determinant of a batch x batch matrix, has their magnitude at 32 and
  twice it at 64). Rankings agree at both. Data-dependent proxies need at least 2 images.
- **Degenerate networks score NaN.** A network whose output does not depend on its input (a
  NAS-Bench-201 cell whose output node is cut off by `none` edges: its logits are the head's bias for
  every image) gets NaN from every proxy, as does any score that is not finite. NaN means "no
  signal": rank such a network below every finite score (NASLib's published files hold 0, or -inf
  for NASWOT, for the same networks: the bottom of the ranking).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.errors import UsageError

PARAMETERISED_LAYERS = (nn.Conv2d, nn.Linear)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
# Images in the one scoring batch, as Abdelfattah et al. (2021); NASLib's published NB201 scores
# used 32. Both rank like NASLib's scores (reports/zero_cost_nb201.md).
BATCH_SIZE = 64


def synflow(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Synaptic flow (Tanaka et al., "Pruning neural networks without any data by iteratively
    conserving synaptic flow", NeurIPS 2020), as a NAS proxy (Abdelfattah et al., ICLR 2021).

    Data-free: `inputs` gives only the image shape and `targets` is unused. On a copy of the model
    in float64, with batch-norm layers bypassed (NASLib's `bn=False`: they are replaced by the
    identity) and every parameter replaced by its absolute value, one all-ones image goes forward;
    the sum of the logits is back-propagated; the score is sum |w * dR/dw| over the weights of
    every Conv2d and Linear layer. Returned as its natural log, the value NASLib reports (the raw
    sum reaches e^115 on NAS-Bench-201); NaN when the sum is 0 (the output ignores the input).
    """
    del targets
    net = _scoring_copy(model).double()
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=_device(net, inputs))
    net(ones).sum().backward()
    total = sum(
        (layer.weight * layer.weight.grad).abs().sum().item()
        for layer in _parameterised(net)
        if layer.weight.grad is not None
    )
    return math.log(total) if total > 0 and math.isfinite(total) else math.nan


def nwot(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """NASWOT, "Neural Architecture Search without Training" (Mellor et al., ICML 2021, the second
    version of the paper, as NASLib's `nwot`).

    One forward pass of the batch (batch-norm in training mode). At every ReLU module (every module
    whose class name contains "ReLU", NASLib's rule) the sign pattern of the input gives each image
    a binary code c; the kernel K[i, j] counts, over all those units, the units where images i and
    j agree (c_i c_j + (1 - c_i)(1 - c_j)). The score is log |det K| (float64). `targets` is
    unused. NaN when K is singular (e.g. no ReLU module) or the output ignores the input.
    """
    return _data_pass(model, inputs, targets, ("nwot",))["nwot"]


def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """SNIP, "Single-shot Network Pruning based on connection sensitivity" (Lee et al., ICLR 2019),
    as a NAS proxy (Abdelfattah et al., ICLR 2021).

    Cross-entropy (mean over the batch) of one forward pass, batch-norm in training mode; the score
    is sum |w * dL/dw| over the weights of every Conv2d and Linear layer. NASLib gets the same
    number as the gradient of a weight mask fixed at 1 (dL/dmask = w * dL/dw); we take the weights'
    gradient directly. NaN when the output ignores the input.
    """
    return _data_pass(model, inputs, targets, ("snip",))["snip"]


def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Gradient norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).

    Cross-entropy (mean over the batch) of one forward pass, batch-norm in training mode; the score
    is the sum over Conv2d and Linear layers of the L2 norm of each layer's weight gradient (a sum
    of per-layer norms, not the norm of all gradients, as NASLib). NaN when the output ignores the
    input.
    """
    return _data_pass(model, inputs, targets, ("grad_norm",))["grad_norm"]


ZERO_COST_PROXIES: dict[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = {
    "synflow": synflow,
    "nwot": nwot,
    "snip": snip,
    "grad_norm": grad_norm,
}


def zero_cost_score(
    name: str, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> float:
    """The zero-cost proxy called `name` (see ZERO_COST_PROXIES) of `model` on one batch."""
    return ZERO_COST_PROXIES[_check_names([name])[0]](model, inputs, targets)


def zero_cost_scores(
    names: Iterable[str], model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> dict[str, float]:
    """Several proxies of `model` on one batch, the same values as `zero_cost_score` for each, with
    nwot, snip and grad_norm read off one shared forward and backward pass (about half the time)."""
    names = _check_names(names)
    scores = {"synflow": synflow(model, inputs, targets)} if "synflow" in names else {}
    data_dependent = [name for name in names if name != "synflow"]
    if data_dependent:
        scores |= _data_pass(model, inputs, targets, data_dependent)
    return {name: scores[name] for name in names}


# ---- shared steps ----------------------------------------------------------------------------


def _check_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [name for name in names if name not in ZERO_COST_PROXIES]
    if unknown:
        raise UsageError(
            f"unknown zero-cost proxy {unknown[0]!r}; valid proxies: {', '.join(ZERO_COST_PROXIES)}"
        )
    return names


def _data_pass(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, names: Iterable[str]
) -> dict[str, float]:
    """nwot, snip and/or grad_norm (as `names` asks) from one forward and, for the last two, one
    backward pass on the caller's model in scoring mode."""
    names = list(names)
    if inputs.dim() < 2 or inputs.shape[0] < 2:
        raise UsageError(
            f"zero-cost proxy {names[0]} needs a batch of at least 2 inputs, got shape "
            f"{tuple(inputs.shape)}"
        )
    gradients = "snip" in names or "grad_norm" in names
    with _scoring_mode(model):
        x = _as_input(model, inputs)
        kernel = torch.zeros((x.shape[0], x.shape[0]), dtype=torch.float64, device=x.device)

        def count_agreements(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            codes = (args[0].detach().reshape(x.shape[0], -1) > 0).float()
            ones = codes.sum(dim=1)
            # c c^T + (1 - c)(1 - c)^T in one matmul: 2 c c^T - |c_i| - |c_j| + units. Entries are
            # integers below 2^24 for any layer of fewer than 16 M units, so float32 is exact.
            agree = 2.0 * codes @ codes.T - ones[:, None] - ones[None, :] + codes.shape[1]
            kernel.add_(agree.double())

        hooks = []
        if "nwot" in names:
            hooks = [
                module.register_forward_pre_hook(count_agreements)
                for module in model.modules()
                if "ReLU" in type(module).__name__
            ]
        try:
            with torch.set_grad_enabled(gradients):
                output = model(x)
        finally:
            for hook in hooks:
                hook.remove()
        if _ignores_input(output):
            return dict.fromkeys(names, math.nan)
        scores = {}
        if gradients:
            weights = [layer.weight for layer in _parameterised(model)]
            loss = F.cross_entropy(output, targets.to(x.device))
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
            used = [(w.detach(), g) for w, g in zip(weights, grads, strict=True) if g is not None]
            scores["snip"] = sum((w * g).abs().sum().item() for w, g in used)
            scores["grad_norm"] = sum(g.norm().item() for _, g in used)
    if "nwot" in names:
        scores["nwot"] = torch.linalg.slogdet(kernel).logabsdet.item()
    return {name: scores[name] if math.isfinite(scores[name]) else math.nan for name in names}


def _scoring_copy(model: nn.Module) -> nn.Module:
    """A deep copy for synflow, which rewrites weights: batch-norm bypassed, eval mode, no grads."""
    net = copy.deepcopy(model)
    _bypass_batch_norm(net)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(True)
        param.grad = None
    return net


def _bypass_batch_norm(net: nn.Module) -> None:
    for name, child in list(net.named_children()):
        if isinstance(child, BATCH_NORMS):
            setattr(net, name, nn.Identity())
        else:
            _bypass_batch_norm(child)


@contextmanager
def _scoring_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode with batch-norm in training mode and every parameter differentiable, for one
    scoring pass on the caller's model; modes, buffers and flags are restored on exit.

    The data-dependent proxies change no weight (their gradients come from torch.autograd.grad,
    which leaves `.grad` alone), so this replaces a deep copy, which costs as much as a forward
    pass on a small network."""
    modes = [(module, module.training) for module in model.modules()]
    buffers = [(buffer, buffer.clone()) for buffer in model.buffers()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    try:
        model.eval()
        for module in model.modules():
            if isinstance(module, BATCH_NORMS):
                module.train()
        for param, _ in flags:
            param.requires_grad_(True)
        yield
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
        for module, training in modes:
            module.training = training
        for param, requires_grad in flags:
            param.requires_grad_(requires_grad)


def _parameterised(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, PARAMETERISED_LAYERS)]


def _ignores_input(output: torch.Tensor) -> bool:
    """Whether every input of the batch got exactly the same output (a cut-off network)."""
    return bool(torch.equal(output, output[:1].expand_as(output)))


def _device(net: nn.Module, inputs: torch.Tensor) -> torch.device:
    param = next(net.parameters(), None)
    return param.device if param is not None else inputs.device


def _as_input(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    param = next(net.parameters(), None)
    if param is None:
        return inputs
    return inputs.to(device=param.device, dtype=param.dtype)
