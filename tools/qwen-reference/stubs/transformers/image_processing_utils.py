"""Image-processor base class and the feature container it returns."""

import numpy as np
import torch

from . import image_transforms


class BatchFeature(dict):
    def __init__(self, data=None, tensor_type=None):
        super().__init__(data or {})
        if tensor_type in ("pt", "PT") or getattr(tensor_type, "value", None) == "pt":
            for key, value in list(self.items()):
                self[key] = torch.from_numpy(np.asarray(value))

    def __getattr__(self, item):
        try:
            return self[item]
        except KeyError as err:
            raise AttributeError(item) from err


class BaseImageProcessor:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __call__(self, images, **kwargs):
        return self.preprocess(images, **kwargs)

    def rescale(self, image, scale, data_format=None, input_data_format=None, **kwargs):
        return image_transforms.rescale(image, scale, data_format=data_format, input_data_format=input_data_format)

    def normalize(self, image, mean, std, data_format=None, input_data_format=None, **kwargs):
        return image_transforms.normalize(image, mean, std, data_format=data_format, input_data_format=input_data_format)
