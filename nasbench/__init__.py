"""nasbench: neural-architecture search and benchmarking for image classification."""

__version__ = "0.1.0"
