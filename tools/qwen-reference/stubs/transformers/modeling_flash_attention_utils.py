from typing import TypedDict


class FlashAttentionKwargs(TypedDict, total=False):
    pass
