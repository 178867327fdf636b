"""Data sets (points and images), input features, uploaded CSVs, and the data-set rules
of a run spec.

Imports only numpy (scikit-learn for the digits) and `specs`: the engine and the server
build on it.
"""

from .catalog import CUSTOM, DATASETS, DatasetInfo, Param, catalog_entries
from .csv_upload import CsvError, parse_csv
from .dataset import (GALLERY, Dataset, gallery_split, input_of, make_dataset, merged_params, network_inputs,
                      probe_split, problem_of, to_csv, to_npz)
from .features import compute_features
from .validate import IMAGE_DATASETS, input_shape, loss_of, natural_loss, network_shapes, validate_spec

__all__ = ["CUSTOM", "DATASETS", "CsvError", "Dataset", "DatasetInfo", "Param", "catalog_entries",
           "compute_features", "input_of", "make_dataset", "network_inputs", "merged_params", "natural_loss",
           "parse_csv", "problem_of", "to_csv", "to_npz", "validate_spec", "IMAGE_DATASETS", "input_shape",
           "network_shapes", "GALLERY", "gallery_split", "loss_of", "probe_split"]
