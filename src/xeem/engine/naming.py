"""Deterministic names the engine derives (child objects, groups, env vars, volumes).

Contract: every function is pure and total; equal arguments give equal names, so a
restarted controller derives the same names (DESIGN §4 restart safety).
"""

from __future__ import annotations

import hashlib
import re

LABEL_WORKFLOW = "xeem.io/workflow"
LABEL_NODE = "xeem.io/node"
LABEL_XVMG = "xeem.io/xvmg"
ENV_PREFIX = "XEEM_INPUT_"
ENV_WORKFLOW = "XEEM_WORKFLOW"
ENV_NODE = "XEEM_NODE"
ENV_XVMG = "XEEM_XVMG"
ENV_XVMG_SIZE = "XEEM_XVMG_SIZE"
VOLUME_PREFIX = "xeem-input-"
MAX_OBJECT_NAME = 63

_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NON_DNS = re.compile(r"[^a-z0-9-]+")


def child_name(workflow: str, node: str) -> str:
    """Name of a node's Task or Service: ``<workflow>-<node>``."""
    return f"{workflow}-{node}"


def group_name(workflow: str, template: str) -> str:
    """Name of the VirtualMachineGroup made from a template: ``<workflow>-<template>``."""
    return f"{workflow}-{template}"


def input_env_name(input_name: str) -> str:
    """``XEEM_INPUT_<NAME>``: upper case, every non-alphanumeric as ``_``."""
    return ENV_PREFIX + _NON_ALNUM.sub("_", input_name).upper()


def input_volume_name(input_name: str) -> str:
    """A DNS-1123 label for an xMount input's volume, unique per input name.

    Names that are already lower-case labels map to ``xeem-input-<name>``; others get a
    short hash of the original name so ``a_b`` and ``a-b`` cannot collide.
    """
    slug = _NON_DNS.sub("-", input_name.lower()).strip("-")
    name = VOLUME_PREFIX + slug
    if slug == input_name and len(name) <= MAX_OBJECT_NAME:
        return name
    digest = hashlib.sha256(input_name.encode()).hexdigest()[:8]
    return f"{name[: MAX_OBJECT_NAME - 9]}-{digest}"
