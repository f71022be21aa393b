"""The quantised GNN: one message-passing layer, the network of an arch.yaml, and dropout."""
