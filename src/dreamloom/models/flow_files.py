"""Registry entries for the optical-flow weights of ``optical_flow_model`` (torchvision's RAFT checkpoints).

torchvision publishes each checkpoint with the first 8 hex digits of its sha256 in the file name but not
the full hash or the exact size, so neither is recorded (the registry never invents one). ``raft-large``
is the checkpoint fine-tuned on Sintel (as pytti's GMA ``gma-sintel``), ``raft-small`` the FlyingChairs +
FlyingThings one, torchvision's defaults. ``dis`` needs no weights and has no entry.
"""

from __future__ import annotations

from dreamloom.models.entries import Family, ModelEntry, WeightsFile

_TORCHVISION = "https://download.pytorch.org/models"
_LICENCE = "BSD-3-Clause (torchvision)"


def flow_entries() -> tuple[ModelEntry, ...]:
    """One entry per RAFT variant; names equal the ``optical_flow_model`` values."""
    return (
        ModelEntry(
            name="raft-large",
            family=Family.FLOW,
            files=(WeightsFile("flow/raft_large_C_T_SKHT_V2-ff5fadd5.pth", (f"{_TORCHVISION}/raft_large_C_T_SKHT_V2-ff5fadd5.pth",)),),
            licence=_LICENCE,
            description="RAFT optical flow (5.3 M parameters, about 20 MB), trained on Chairs, Things, Sintel, HD1K, KITTI",
        ),
        ModelEntry(
            name="raft-small",
            family=Family.FLOW,
            files=(WeightsFile("flow/raft_small_C_T_V2-01064c6d.pth", (f"{_TORCHVISION}/raft_small_C_T_V2-01064c6d.pth",)),),
            licence=_LICENCE,
            description="RAFT-small optical flow (1 M parameters, about 4 MB), trained on Chairs and Things",
        ),
    )
