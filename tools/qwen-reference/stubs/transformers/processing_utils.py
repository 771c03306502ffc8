from typing import Unpack  # noqa: F401  (Python >= 3.11)
