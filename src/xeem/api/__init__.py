"""The xeem.io/v1alpha1 API models and their CRD schema generator.

Contract: imports nothing from any Kubernetes client.
"""
