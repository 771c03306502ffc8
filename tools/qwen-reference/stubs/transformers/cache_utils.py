"""A small key/value cache. The fixtures run without a cache; this exists so the
modelling file imports and so `use_cache=True` would still work."""

import torch


class Cache:
    def get_seq_length(self, layer_idx=0):
        return 0


class DynamicCache(Cache):
    def __init__(self):
        self.keys = []
        self.values = []

    def get_seq_length(self, layer_idx=0):
        if len(self.keys) <= layer_idx:
            return 0
        return self.keys[layer_idx].shape[-2]

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        if len(self.keys) <= layer_idx:
            self.keys.append(key_states)
            self.values.append(value_states)
        else:
            self.keys[layer_idx] = torch.cat([self.keys[layer_idx], key_states], dim=-2)
            self.values[layer_idx] = torch.cat([self.values[layer_idx], value_states], dim=-2)
        return self.keys[layer_idx], self.values[layer_idx]
