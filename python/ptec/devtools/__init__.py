"""ptec's developer tools: profiles in ExecuTorch's ETDump format (etdump.py)."""
from .etdump import Profile, ProfileEvent

__all__ = ["Profile", "ProfileEvent"]
