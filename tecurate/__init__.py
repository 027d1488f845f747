"""tecurate: audit the curation quality of text embeddings of tabular data."""

__version__ = "0.1.0"
