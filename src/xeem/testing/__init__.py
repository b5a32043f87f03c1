"""Test support for xeem and its users: a real local Kubernetes control plane.

``LocalControlPlane`` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and kwok on loopback; see ``xeem.testing.controlplane`` for its contract.
"""

from xeem.testing.controlplane import ControlPlaneConfig, ControlPlaneError, LocalControlPlane

__all__ = ["ControlPlaneConfig", "ControlPlaneError", "LocalControlPlane"]
