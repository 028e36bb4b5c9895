"""Transformer blocks: patch embedding, (shifted-window) multi-head self-attention, patch merging."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import MLP, StochasticDepth

# Attention goes through F.scaled_dot_product_attention so that MAC counting sees QK^T and AV as
# one op (2 * L * S * head_dim multiply-adds per head), on CPU and GPU alike.


class PatchEmbedding(nn.Module):
    """Split an image into non-overlapping p x p patches and project each one: (B,C,H,W) -> (B,H/p,W/p,D)."""

    def __init__(self, in_channels: int, dim: int, patch_size: int, norm: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(dim) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class MultiHeadSelfAttention(nn.Module):
    """Global multi-head self-attention over a token sequence (B, L, D), as in ViT."""

    def __init__(self, dim: int, num_heads: int, attention_dropout: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads={num_heads} does not divide dim={dim}")
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, dim = x.shape
        qkv = self.qkv(x).reshape(b, length, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        dropout = self.attention_dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
        return self.proj(out.transpose(1, 2).reshape(b, length, dim))


class WindowAttention(nn.Module):
    """Swin's (shifted-)window multi-head self-attention with relative position bias on (B, H, W, D).

    As torchvision's swin: the map is padded at the bottom/right to a multiple of the window, and
    the shift is dropped along an axis where the window covers the whole (padded) map. Shrinking a
    window that is larger than the map is the builder's choice (see search_spaces/swin.py).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: tuple[int, int],
        shift_size: tuple[int, int] = (0, 0),
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads={num_heads} does not divide dim={dim}")
        self.num_heads = num_heads
        self.window_size = tuple(window_size)
        self.shift_size = tuple(shift_size)
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        mh, mw = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * mh - 1) * (2 * mw - 1), num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer(
            "relative_position_index", relative_position_index(mh, mw), persistent=False
        )

    def relative_position_bias(self) -> torch.Tensor:
        """The learned bias added to the attention logits: (heads, M*M, M*M)."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        return bias.reshape(n, n, self.num_heads).permute(2, 0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, dim = x.shape
        mh, mw = self.window_size
        x = F.pad(x, (0, 0, 0, (-w) % mw, 0, (-h) % mh))
        hp, wp = x.shape[1], x.shape[2]
        shift = (
            self.shift_size[0] if mh < hp else 0,
            self.shift_size[1] if mw < wp else 0,
        )
        if any(shift):
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))

        nh, nw = hp // mh, wp // mw
        windows = x.reshape(b, nh, mh, nw, mw, dim).permute(0, 1, 3, 2, 4, 5)
        windows = windows.reshape(b * nh * nw, mh * mw, dim)
        qkv = self.qkv(windows).reshape(b * nh * nw, mh * mw, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)

        mask = self.relative_position_bias().unsqueeze(0)  # (1, heads, N, N)
        if any(shift):
            mask = mask + shift_mask(hp, wp, self.window_size, shift, x.device, x.dtype)[:, None]
        mask = mask.expand(b, nh * nw, -1, -1, -1).reshape(b * nh * nw, self.num_heads, mh * mw, -1)
        dropout = self.attention_dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype), dropout_p=dropout)
        out = self.proj(out.transpose(1, 2).reshape(b * nh * nw, mh * mw, dim))

        out = out.reshape(b, nh, nw, mh, mw, dim).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, dim)
        if any(shift):
            out = torch.roll(out, shifts=shift, dims=(1, 2))
        return out[:, :h, :w, :].contiguous()


def relative_position_index(mh: int, mw: int) -> torch.Tensor:
    """For every pair of positions in an mh x mw window, the row of the relative-bias table."""
    coords = torch.stack(torch.meshgrid(torch.arange(mh), torch.arange(mw), indexing="ij"))
    coords = coords.flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    return ((rel[..., 0] + mh - 1) * (2 * mw - 1) + rel[..., 1] + mw - 1).flatten()


def shift_mask(
    hp: int,
    wp: int,
    window_size: tuple[int, int],
    shift: tuple[int, int],
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """(windows, N, N) additive mask keeping attention within regions that were adjacent before the roll."""
    mh, mw = window_size
    region = torch.zeros(hp, wp, device=device)
    label = 0
    for hs in ((0, -mh), (-mh, -shift[0] or None), (-shift[0] or None, None)):
        for ws in ((0, -mw), (-mw, -shift[1] or None), (-shift[1] or None, None)):
            region[hs[0] : hs[1], ws[0] : ws[1]] = label
            label += 1
    region = region.view(hp // mh, mh, wp // mw, mw).permute(0, 2, 1, 3).reshape(-1, mh * mw)
    different = region[:, None, :] != region[:, :, None]
    # -100 rather than -inf, as torchvision and the Swin paper's code do
    return torch.zeros(different.shape, device=device, dtype=dtype).masked_fill(different, -100.0)


class PatchMerging(nn.Module):
    """Swin's downsampling: concatenate each 2 x 2 neighbourhood, normalise, project 4D -> 2D."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[1], x.shape[2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat(
            [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1
        )
        return self.reduction(self.norm(x))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + drop_path(attn(norm(x))), then x + drop_path(mlp(norm(x)))."""

    def __init__(
        self,
        dim: int,
        attention: nn.Module,
        mlp_ratio: float,
        drop_path: float = 0.0,
        norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = attention
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None)
        self.drop_path = StochasticDepth(drop_path, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def drop_path_rates(rate: float, blocks: int) -> list[float]:
    """Stochastic-depth probability per block, rising linearly from 0 to `rate` (Swin, DeiT)."""
    if blocks == 1:
        return [0.0]
    return [rate * i / (blocks - 1) for i in range(blocks)]


def init_transformer_weights(module: nn.Module) -> None:
    """Truncated-normal(0.02) linear weights and zero biases, as Swin and DeiT initialise."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class TokenPool(nn.Module):
    """ViT's neck: the class token's final state ("cls") or the mean over all tokens ("mean")."""

    def __init__(self, pooling: str) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling={pooling!r}; choose 'cls' or 'mean'")
        self.pooling = pooling

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens[:, 0] if self.pooling == "cls" else tokens.mean(dim=1)
