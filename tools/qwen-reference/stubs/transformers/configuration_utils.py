"""Configuration base class.

Keeps every constructor keyword as an attribute, defaults the generic flags the
model reads, and forces the eager attention path (`_attn_implementation`).
`rope_scaling` reads back `rope_parameters` when the configuration class stores
RoPE settings there, which is what the modelling file expects to find.
"""

import copy


class PreTrainedConfig:
    model_type = ""
    sub_configs = {}
    _attn_implementation = "eager"

    def __init__(self, **kwargs):
        self.return_dict = kwargs.pop("return_dict", True)
        self.output_attentions = kwargs.pop("output_attentions", False)
        self.output_hidden_states = kwargs.pop("output_hidden_states", False)
        self.tie_word_embeddings = kwargs.pop("tie_word_embeddings", True)
        self.pad_token_id = kwargs.pop("pad_token_id", None)
        self.bos_token_id = kwargs.pop("bos_token_id", None)
        self.eos_token_id = kwargs.pop("eos_token_id", None)
        kwargs.pop("attn_implementation", None)
        for key, value in kwargs.items():
            setattr(self, key, value)

    @property
    def use_return_dict(self):
        return self.return_dict

    @property
    def rope_scaling(self):
        params = self.__dict__.get("rope_parameters")
        return params if params is not None else self.__dict__.get("_rope_scaling")

    @rope_scaling.setter
    def rope_scaling(self, value):
        self.__dict__["_rope_scaling"] = value

    def get_text_config(self, decoder=False):
        return getattr(self, "text_config", self)

    def to_dict(self):
        out = {}
        for key, value in self.__dict__.items():
            if isinstance(value, PreTrainedConfig):
                value = value.to_dict()
            out[key] = copy.deepcopy(value)
        return out


PretrainedConfig = PreTrainedConfig

_LAYER_TYPES = ("full_attention", "sliding_attention")


def layer_type_validation(layer_types, num_hidden_layers=None):
    if any(t not in _LAYER_TYPES for t in layer_types):
        raise ValueError(f"layer_types entries must be in {_LAYER_TYPES}")
    if num_hidden_layers is not None and len(layer_types) != num_hidden_layers:
        raise ValueError("layer_types must have one entry per hidden layer")
