"""Minimal stand-in for the `transformers` package.

Only the names that the reference modelling, configuration and image-processing
files import are provided. The model files themselves are loaded unchanged from a
partial checkout of the real library (see tools/qwen-reference/README.md); this
package supplies the framework pieces around them so they run on an older torch
without the full library installed.
"""

__version__ = "0.0.0-reference-stub"
