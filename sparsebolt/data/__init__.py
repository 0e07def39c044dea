"""Data in: the Value a layer takes, batches and label sets, the SVM loader and its
sharding, the CSV reader, a hashed text featurizer."""
from .batch import Batch, Labels, SparseDataset, csr_value
from .errors import DataFormatError
from .svm import SvmDataset, load_svm, write_svm
from .text import HashedTextFeaturizer, load_text_csv
from .value import Value

__all__ = ["Batch", "Labels", "SparseDataset", "csr_value", "DataFormatError", "SvmDataset",
           "load_svm", "write_svm", "HashedTextFeaturizer", "load_text_csv", "Value"]
