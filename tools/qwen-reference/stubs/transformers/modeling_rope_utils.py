"""Rotary-embedding helpers: the default (unscaled) frequencies only.

`standardize_rope_params` / `rope_config_validation` serve the configuration file,
which keeps its RoPE settings in `config.rope_parameters`.
"""

import torch


def _rope_theta(config):
    params = getattr(config, "rope_parameters", None) or {}
    theta = params.get("rope_theta")
    if theta is None:
        theta = getattr(config, "rope_theta", 10000.0)
    return float(theta)


def _default_rope(config, device=None, seq_len=None):
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    params = getattr(config, "rope_parameters", None) or {}
    dim = int(head_dim * params.get("partial_rotary_factor", getattr(config, "partial_rotary_factor", 1.0)))
    base = _rope_theta(config)
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim
    inv_freq = 1.0 / (base**exponents)
    return inv_freq, 1.0


ROPE_INIT_FUNCTIONS = {"default": _default_rope}


def dynamic_rope_update(fn):
    return fn


RopeParameters = dict


def standardize_rope_params(config, rope_theta=None):
    params = dict(getattr(config, "rope_parameters", None) or {})
    params.setdefault("rope_type", params.get("type", "default"))
    if "rope_theta" not in params:
        params["rope_theta"] = rope_theta
    config.rope_parameters = params


def rope_config_validation(config, ignore_keys=None):
    params = getattr(config, "rope_parameters", None) or {}
    if params.get("rope_type", "default") not in ROPE_INIT_FUNCTIONS:
        raise ValueError(f"RoPE type {params.get('rope_type')!r} is not supported by the reference stubs")
