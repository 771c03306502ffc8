class GenerationMixin:
    """Generation is done by the fixture script with explicit forward passes."""
