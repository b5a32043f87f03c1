"""xeem: a Kubernetes-native workflow engine."""
