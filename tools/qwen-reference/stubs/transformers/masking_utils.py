"""Additive attention masks for the eager attention path.

Builds a [batch, 1, query, key] float mask: 0 where a query may attend a key
(key position <= query position and the key is not padding), the dtype's
minimum elsewhere. Rows that are padding themselves are left fully masked, as the
library's eager mask does.
"""

import torch


def _padding_and_causal(input_embeds, attention_mask, cache_position, past_key_values, window=None):
    dtype = input_embeds.dtype
    batch = input_embeds.shape[0]
    past = past_key_values.get_seq_length() if past_key_values is not None else 0
    kv_len = past + input_embeds.shape[1]
    kv_idx = torch.arange(kv_len, device=input_embeds.device)
    q_idx = cache_position.to(input_embeds.device)
    allowed = kv_idx[None, :] <= q_idx[:, None]
    if window is not None:
        allowed = allowed & (kv_idx[None, :] > q_idx[:, None] - window)
    allowed = allowed[None, None, :, :].expand(batch, 1, -1, -1)
    if attention_mask is not None:
        if attention_mask.dim() != 2:
            raise ValueError("only 2-D padding masks are supported by this stub")
        keep = attention_mask[:, :kv_len].to(torch.bool)
        allowed = allowed & keep[:, None, None, :]
    mask = torch.zeros(allowed.shape, dtype=dtype, device=input_embeds.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def create_causal_mask(config, input_embeds, attention_mask, cache_position, past_key_values, position_ids=None, **_):
    return _padding_and_causal(input_embeds, attention_mask, cache_position, past_key_values)


def create_sliding_window_causal_mask(
    config, input_embeds, attention_mask, cache_position, past_key_values, position_ids=None, **_
):
    return _padding_and_causal(input_embeds, attention_mask, cache_position, past_key_values, config.sliding_window)
