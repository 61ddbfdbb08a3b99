"""The shared core every domain stands on: base model, errors, pagination."""
