"""Model base class: the attributes and hooks the reference modelling file calls.

Weights are not initialised here (the fixture script generates or loads every
tensor); `post_init` is therefore a no-op and weight tying is done by the loader.
"""

import torch
import torch.nn as nn

# Only the eager path is used; any other name would fail loudly on lookup.
ALL_ATTENTION_FUNCTIONS = {}


class PreTrainedModel(nn.Module):
    base_model_prefix = ""
    _checkpoint_conversion_mapping = {}
    _tied_weights_keys = []

    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        self.config = config

    @classmethod
    def _from_config(cls, config, **kwargs):
        return cls(config, **kwargs)

    def post_init(self):
        pass

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @property
    def device(self):
        return next(self.parameters()).device

    def get_input_embeddings(self):
        layer = getattr(self, "embed_tokens", None)
        if layer is not None:
            return layer
        raise NotImplementedError(type(self).__name__)

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def get_output_embeddings(self):
        return getattr(self, "lm_head", None)
