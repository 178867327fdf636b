"""Data sets, input features, uploaded CSVs, and the data-set rules of a run spec.

Imports only numpy and `specs`: the engine and the server build on it.
"""

from .catalog import CUSTOM, DATASETS, DatasetInfo, Param, catalog_entries
from .csv_upload import CsvError, parse_csv
from .dataset import Dataset, make_dataset, merged_params, problem_of, to_csv
from .features import compute_features
from .validate import natural_loss, validate_spec

__all__ = ["CUSTOM", "DATASETS", "CsvError", "Dataset", "DatasetInfo", "Param", "catalog_entries",
           "compute_features", "make_dataset", "merged_params", "natural_loss",
           "parse_csv", "problem_of", "to_csv", "validate_spec"]
