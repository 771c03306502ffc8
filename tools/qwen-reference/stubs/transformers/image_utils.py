"""Image type helpers used by the Qwen2-VL image processor (RGB, uint8, HWC input)."""

import enum
from typing import Any

import numpy as np
import PIL.Image

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

ImageInput = Any
VideoInput = Any
PILImageResampling = PIL.Image.Resampling


class ChannelDimension(str, enum.Enum):
    FIRST = "channels_first"
    LAST = "channels_last"


def _is_image(obj):
    return isinstance(obj, (PIL.Image.Image, np.ndarray))


def valid_images(images):
    items = images if isinstance(images, (list, tuple)) else [images]
    return all(_is_image(i) for i in items)


def make_list_of_images(images):
    if isinstance(images, (list, tuple)):
        return list(images)
    return [images]


def make_flat_list_of_images(images):
    if isinstance(images, (list, tuple)):
        flat = []
        for item in images:
            flat.extend(item if isinstance(item, (list, tuple)) else [item])
        return flat
    return [images]


def make_batched_videos(videos):
    raise NotImplementedError("videos are not used by the reference fixtures")


def to_numpy_array(image):
    if isinstance(image, PIL.Image.Image):
        return np.array(image)
    return np.asarray(image)


def infer_channel_dimension_format(image, num_channels=(1, 3)):
    if image.ndim == 3:
        first, last = 0, 2
    elif image.ndim == 4:
        first, last = 1, 3
    else:
        raise ValueError(f"unsupported number of image dimensions: {image.ndim}")
    if image.shape[first] in num_channels:
        return ChannelDimension.FIRST
    if image.shape[last] in num_channels:
        return ChannelDimension.LAST
    raise ValueError("unable to infer the channel dimension format")


def get_channel_dimension_axis(image, input_data_format=None):
    if input_data_format is None:
        input_data_format = infer_channel_dimension_format(image)
    return image.ndim - 3 if input_data_format == ChannelDimension.FIRST else image.ndim - 1


def get_image_size(image, channel_dim=None):
    if channel_dim is None:
        channel_dim = infer_channel_dimension_format(image)
    if channel_dim == ChannelDimension.FIRST:
        return image.shape[-2], image.shape[-1]
    return image.shape[-3], image.shape[-2]


def is_scaled_image(image):
    if image.dtype == np.uint8:
        return False
    return bool(np.min(image) >= 0 and np.max(image) <= 1)


def validate_preprocess_arguments(**kwargs):
    if kwargs.get("do_normalize") and (kwargs.get("image_mean") is None or kwargs.get("image_std") is None):
        raise ValueError("image_mean and image_std are required when normalizing")
