import sys
from pathlib import Path

# The capture builders are shared with the inspect tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inspect"))
