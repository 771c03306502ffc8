"""Pixel transforms with the library's numeric conventions:

* resize: through PIL (uint8 HWC array -> PIL image -> `Image.resize((w, h), resample)` -> array);
* rescale: multiply in float64, then cast to float32;
* normalize: float32 `(x - mean) / std` per channel.
"""

import numpy as np
import PIL.Image

from .image_utils import ChannelDimension, get_channel_dimension_axis, infer_channel_dimension_format


def to_channel_dimension_format(image, channel_dim, input_channel_dim=None):
    if input_channel_dim is None:
        input_channel_dim = infer_channel_dimension_format(image)
    target = ChannelDimension(channel_dim)
    if ChannelDimension(input_channel_dim) == target:
        return image
    lead = list(range(image.ndim - 3))
    if target == ChannelDimension.FIRST:
        return image.transpose(lead + [image.ndim - 1, image.ndim - 3, image.ndim - 2])
    return image.transpose(lead + [image.ndim - 2, image.ndim - 1, image.ndim - 3])


def convert_to_rgb(image):
    if not isinstance(image, PIL.Image.Image) or image.mode == "RGB":
        return image
    return image.convert("RGB")


def rescale(image, scale, data_format=None, dtype=np.float32, input_data_format=None):
    out = image.astype(np.float64) * scale
    if data_format is not None:
        out = to_channel_dimension_format(out, data_format, input_data_format)
    return out.astype(dtype)


def normalize(image, mean, std, data_format=None, input_data_format=None):
    if input_data_format is None:
        input_data_format = infer_channel_dimension_format(image)
    channels = image.shape[get_channel_dimension_axis(image, input_data_format)]
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    mean = np.array(mean if np.ndim(mean) else [mean] * channels, dtype=image.dtype)
    std = np.array(std if np.ndim(std) else [std] * channels, dtype=image.dtype)
    if ChannelDimension(input_data_format) == ChannelDimension.LAST:
        image = (image - mean) / std
    else:
        image = ((image.T - mean) / std).T
    if data_format is not None:
        image = to_channel_dimension_format(image, data_format, input_data_format)
    return image


def resize(image, size, resample=None, reducing_gap=None, data_format=None, input_data_format=None):
    if resample is None:
        resample = PIL.Image.Resampling.BILINEAR
    if input_data_format is None:
        input_data_format = infer_channel_dimension_format(image)
    data_format = input_data_format if data_format is None else data_format
    if image.dtype != np.uint8:
        raise ValueError("the reference stub resizes uint8 images only")
    hwc = to_channel_dimension_format(image, ChannelDimension.LAST, input_data_format)
    if hwc.shape[-1] == 1:
        hwc = hwc[..., 0]
    height, width = size
    resized = np.array(PIL.Image.fromarray(hwc).resize((width, height), resample=resample, reducing_gap=reducing_gap))
    if resized.ndim == 2:
        resized = resized[..., None]
    return to_channel_dimension_format(resized, data_format, ChannelDimension.LAST)
