"""Layer 1: real image data that works offline, and a user's own image folders."""

from tfdefend.data.catalog import DatasetSpec, dataset_info, list_datasets
from tfdefend.data.image_folder import load_image_folder
from tfdefend.data.load import load

__all__ = ["DatasetSpec", "dataset_info", "list_datasets", "load", "load_image_folder"]
