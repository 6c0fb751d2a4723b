"""xpnet: fully-connected neural networks with one vectorized backpropagation code path for
NumPy (CPU) and CuPy (CUDA GPU).

Importing xpnet probes nothing and downloads nothing; the backend is chosen when a Network is
built (``backend="auto" | "numpy" | "cupy"`` or ``$XPNET_BACKEND``).
"""

from .backend import Backend, BackendUnavailable, get_backend
from .checkpoint import CheckpointError, load, save
from .early_stopping import EarlyStopping
from .gradcheck import GradientCheck, check_gradient
from .history import History
from .network import Network, one_hot
from .training import DivergenceError

__version__ = "0.1.0"

__all__ = [
    "Backend", "BackendUnavailable", "CheckpointError", "DivergenceError", "EarlyStopping",
    "GradientCheck", "History", "Network", "check_gradient", "get_backend", "load", "one_hot",
    "save", "__version__",
]
