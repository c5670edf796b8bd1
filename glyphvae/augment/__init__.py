"""Injecting synthetic glyphs into OCR training data (albumentations and tf.data adapters)."""
